"""Look line identities up by index: ``provider = ? AND line_id IN (…)``, a chunk at a time.

A row-value ``(provider, line_id) IN ((…), (…))`` reads well but SQLite plans it as a scan of
the whole table for every chunk (``EXPLAIN QUERY PLAN``: ``SCAN line_revisions``): ingesting
a million lines in chunks of 500 then visits about 10⁹ rows, and the cost of each chunk grows
with the store. Grouped by provider, the same lookup is a search of the primary key on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

#: Line ids per query: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


def key_chunks(keys: Iterable[tuple[str, str]], size: int = CHUNK) -> Iterator[tuple[str, list[str]]]:
    """``(provider, [line ids])`` of at most ``size`` ids, covering every key once, in a stable order."""
    by_provider: defaultdict[str, list[str]] = defaultdict(list)
    for provider, line_id in dict.fromkeys(keys):
        by_provider[provider].append(line_id)
    for provider in sorted(by_provider):
        ids = by_provider[provider]
        for start in range(0, len(ids), size):
            yield provider, ids[start : start + size]

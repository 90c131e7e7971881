"""The line store: normalized lines, their revisions and per-line run results as Parquet.

Partitioned by provider and billing period, one immutable file set per batch,
on a local folder or S3 (``docs/line-store.md``). The control store keeps only
what points at it: a batch's files are found from its id and the layout.
"""

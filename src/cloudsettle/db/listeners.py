"""Attach a listener to a session factory once, remembered by the factory itself.

SQLAlchemy's ``event.contains`` keys its registry by ``id(target)``. A factory freed by
reference counting leaves its entry there until the cyclic collector runs, so a new factory
made at the same address is taken for one that has the listener and gets none: its audit
events went unchained and its history unguarded. Here each listener keeps a weak set of the
factories it was attached to, which forgets a factory the moment it is freed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_ATTACHED: dict[tuple[str, Callable[..., Any]], weakref.WeakSet[sessionmaker[Session]]] = {}


def listen_once(factory: sessionmaker[Session], identifier: str, fn: Callable[..., Any]) -> None:
    """``event.listen(factory, identifier, fn)`` unless this very factory has it already."""
    attached = _ATTACHED.setdefault((identifier, fn), weakref.WeakSet())
    if factory in attached:
        return
    event.listen(factory, identifier, fn)
    attached.add(factory)

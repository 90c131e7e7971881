"""Migration scripts, oldest first by revision id."""

from __future__ import annotations

"""The control store: SQLAlchemy models, exact column types, sessions and migrations.

Partners, agreements, batches, runs, statements and the audit log live here,
in SQLite by default and PostgreSQL in production; both behave the same.
"""

from __future__ import annotations

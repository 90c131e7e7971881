"""Ingestion: provider files and APIs in, normalized billing lines out.

Provider column names and SDK types stay inside this package (the
anti-corruption layer); everything it hands on is a core type, a
:class:`~cloudsettle.ingest.errors.RowError` or a raw-store object.
"""

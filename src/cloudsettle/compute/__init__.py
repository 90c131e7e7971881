"""The bulk engine: steps 1–5 of the settlement spec as set-based SQL in DuckDB.

The reference engine (``cloudsettle.core.settlement``) is the oracle; this
package computes the same per-line results over Arrow tables or Parquet files
and hands them to the core's :func:`~cloudsettle.core.settlement.statement.finish_statement`
for steps 6–11, so both engines give the same statements to the cent.
"""

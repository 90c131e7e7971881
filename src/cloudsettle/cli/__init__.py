"""The ``cloudsettle`` command line (Typer + Rich): thin, one unit of work per command."""

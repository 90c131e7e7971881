"""Exports: cloudsettle's data written in formats other tools read (FOCUS, ...).

Exporters read core types and write files; they never import the API, the
web UI or the CLI.
"""

"""Use cases over the control store: load config, ingest, settle, approve, finalize.

Each service function takes a session and keyword-only arguments and never
commits: the CLI command (or API request) opens one unit of work and commits
once. Permission and four-eyes checks live here, not in the callers.
"""

"""The HTTP API (FastAPI) under ``/api/v1``: :func:`cloudsettle.api.app.create_app` builds it.

Routes are thin: they parse the request, call one permission-checked use case
in :mod:`cloudsettle.services.guarded` and shape the answer. Errors become
HTTP statuses in one place, :mod:`cloudsettle.api.errors`.
"""

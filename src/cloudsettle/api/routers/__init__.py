"""One router per domain, all mounted under ``/api/v1`` by :mod:`cloudsettle.api.app`."""

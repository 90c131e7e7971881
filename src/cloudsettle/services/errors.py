"""The service exceptions, and the exit status each one means on the command line.

- :class:`BadInput` (exit 2): the request itself is wrong (unknown partner,
  bad period name, a refused file);
- :class:`Refused` (exit 1): the request is fine but the state forbids it
  (four eyes, a finalized statement, an exception that blocks approval);
- :class:`NotFound` (exit 1): nothing to show.

Business problems found in data are findings, not exceptions.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request the service could not carry out."""

    exit_code = 1


class BadInput(ServiceError):
    """The request is malformed or names something that does not exist."""

    exit_code = 2


class Refused(ServiceError):
    """The request is valid but not allowed in the current state."""

    exit_code = 1


class NotFound(ServiceError):
    """The thing asked for does not exist (yet)."""

    exit_code = 1

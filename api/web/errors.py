"""The one place that turns the services' domain errors (``api/errors.py``) into HTTP."""

from __future__ import annotations

from api.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    InvalidState,
    NotFound,
    Unavailable,
)

HTTP_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    InvalidState: 409,  # before Invalid in its MRO
    Invalid: 422,
    Unavailable: 503,
}


def http_status(exc: DomainError) -> int:
    """The HTTP status of a domain error (422 for one of no more specific class)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 422

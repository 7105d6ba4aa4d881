"""Small helpers shared by the three users' flows (officer, firm, connector)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FlowError(ValueError):
    """A user-fixable error in one field: shown beside the field, or as JSON {message, field}.

    ``message`` is a Dutch source string (translated by ``t()``); ``params`` fill its
    ``{placeholders}`` after translation.
    """

    def __init__(self, field: str | None, message: str, status: int = 422, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.field = field
        self.message = message
        self.params = params
        self.status = status


class NotFound(FlowError):
    def __init__(self, message: str = "Niet gevonden.", **params: Any) -> None:
        super().__init__(None, message, 404, **params)


def clamp_page(page: int | None, per_page: int | None, max_per_page: int = 200
               ) -> tuple[int, int]:
    p = max(1, int(page or 1))
    n = min(max(1, int(per_page or 50)), max_per_page)
    return p, n


def list_params(query: Mapping[str, str]) -> tuple[str, str, int]:
    """A list page's search text (at most 100 characters), status filter and page (from 1;
    anything unreadable is the first page: a hand-edited URL never fails)."""
    q = (query.get("q") or "").strip()[:100]
    status = query.get("status") or ""
    try:
        page = max(1, int(query.get("page") or 1))
    except ValueError:
        page = 1
    return q, status, page

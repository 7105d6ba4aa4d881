"""Stored UTC timestamps as Amsterdam wall-clock time on pages (the formatting itself is
``api.i18n.format_moment``; the zone is ``api.clock.AMSTERDAM``)."""

from __future__ import annotations

from datetime import datetime

from api.i18n import format_moment
from api.templating import current_lang


def local_time(value: datetime | str | None, lang: str | None = None,
               labelled: bool = True) -> str:
    """A stored timestamp as Amsterdam time in the page's language, the zone named:
    "03-12-2026 10:15 (Amsterdamse tijd)"."""
    return format_moment(value, lang or current_lang.get(), "short", labelled)

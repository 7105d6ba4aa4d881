"""Stored UTC timestamps as Dutch wall-clock time on pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local_time(value: datetime | str | None) -> str:
    """A stored UTC timestamp as Dutch wall-clock time: "01-06-2026 11:30"."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")

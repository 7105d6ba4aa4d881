"""The reference date ("today") and the current instant of the whole application: its one owner.

Demos and tests pin it with the ``TODAY`` setting (YYYY-MM-DD) so that vetting validity,
countdowns and policy dates are reproducible; otherwise it is the real date. Every module
that needs "today" calls :func:`today`; the engine never asks for the date itself, it is
passed in (``reference_date=``, ``on=``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from api.settings import get_settings

# The application's wall clock: "today" and every moment shown to a user (#16).
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def today() -> date:
    """The reference date: settings.today when set (demos, tests), else the date in
    Amsterdam (not the server's zone: a server in UTC would be a day behind after midnight)."""
    configured = get_settings().today
    return date.fromisoformat(configured) if configured else datetime.now(AMSTERDAM).date()


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (SQLModel stores aware datetimes: TIMESTAMPTZ on PostgreSQL)."""
    return datetime.now(UTC)

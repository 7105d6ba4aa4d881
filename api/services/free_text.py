"""Free text typed by users, as it is stored."""

from __future__ import annotations


def clean_text(value: str | None) -> str:
    """Free text as stored: without NUL characters (PostgreSQL refuses them)."""
    return (value or "").replace("\x00", "").strip()

"""`sroi init-db`: create or migrate the database schema (Alembic, head revision)."""

from __future__ import annotations

import argparse
from typing import Any

from api.commands.errors import CliError
from api.commands.lang import say
from api.messages import Message, msg


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "init-db",
        help="create the database or migrate it to the latest schema",
        description="Create the database schema, or upgrade it to the latest migration. "
        "Safe to run again: an up-to-date database is left as it is. "
        "The database is DATABASE_URL (default sqlite:///./sroi.db).",
    )
    p.set_defaults(handler=run_init_db)


def init_db() -> Message:
    """Upgrade the configured database to head; returns a one-line description (a message
    for the command's language)."""
    from sqlalchemy.exc import OperationalError

    from api.migrate import MigrationError, upgrade

    try:
        return upgrade().describe()
    except MigrationError as exc:
        raise CliError(exc.message, status=1) from exc
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise CliError(msg("database niet bereikbaar: {reason} (controleer DATABASE_URL)",
                           reason=reason), status=1) from exc


def run_init_db(args: argparse.Namespace) -> int:
    say(init_db())
    return 0

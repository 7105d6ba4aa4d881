"""Run the Alembic migrations programmatically.

There is no ``alembic.ini``: the config is built here, so the migrations ship inside
the installed package (``api/migrations``). Developers make a new revision with::

    .venv/bin/python -c "from api.migrate import revision; revision('add foo')"

after changing ``api/tables.py``; ``tests/test_migrations.py`` fails until they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import api.tables  # noqa: F401  (registers the tables)
from api.db import make_engine, normalise_url
from api.messages import Message, msg, msgn
from api.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    """The database cannot be migrated as it is; the message (Dutch, rendered in the
    reader's language: ``api.messages``) says what to do."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.render("nl"))
        self.message = message

    def render(self, lang: str) -> str:
        return self.message.render(lang)


@dataclass(frozen=True)
class UpgradeResult:
    url: str
    before: str | None
    after: str | None
    stamped: bool = False  # tables existed (made by create_all) and matched: adopted

    def describe(self) -> Message:
        """What the upgrade did, a message for the reader's language (`sroi init-db`)."""
        where = _redact(self.url)
        if self.stamped:
            return msg("{where}: de bestaande tabellen komen overeen met de modellen; "
                       "gemarkeerd als gemigreerd naar revisie {after}",
                       where=where, after=self.after)
        if self.before == self.after:
            return msg("{where}: al op de nieuwste revisie ({after}); niets te doen",
                       where=where, after=self.after)
        if self.before is None:
            return msg("{where}: schema aangemaakt (revisie {after})",
                       where=where, after=self.after)
        return msg("{where}: bijgewerkt van revisie {before} naar {after}",
                   where=where, before=self.before, after=self.after)


def _redact(url: str) -> str:
    # Never print a password.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "database"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = normalise_url(url or get_settings().database_url)
    # ConfigParser interpolation: a literal '%' (URL-encoded options) must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_diff(connection: Connection) -> list[Any]:
    """Differences between the database behind ``connection`` and the models."""
    mc = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(mc, SQLModel.metadata))


def upgrade(url: str | None = None, revision: str = "head") -> UpgradeResult:
    """Bring the database at ``url`` (default: DATABASE_URL) to ``revision``.

    A database whose tables were made by ``SQLModel.metadata.create_all`` (before
    migrations existed) is adopted ("stamped") when it matches the models exactly;
    otherwise MigrationError says what differs.
    """
    url = normalise_url(url or get_settings().database_url)
    cfg = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            existing = set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables)
            diff = schema_diff(conn) if before is None and existing else []
        if before is None and existing:
            if diff:
                raise MigrationError(msgn(
                    "de database heeft tabellen maar geen migratiegeschiedenis, en ze wijken "
                    "af van de modellen ({n} verschil, het eerste: {first}); maak een "
                    "reservekopie met `sroi export` en begin dan met een lege database",
                    "de database heeft tabellen maar geen migratiegeschiedenis, en ze wijken "
                    "af van de modellen ({n} verschillen, het eerste: {first}); maak een "
                    "reservekopie met `sroi export` en begin dan met een lege database",
                    len(diff), first=repr(diff[0])))
            command.stamp(cfg, "head")
            return UpgradeResult(url, None, head_revision(), stamped=True)
        command.upgrade(cfg, revision)
        with engine.connect() as conn:
            after = MigrationContext.configure(conn).get_current_revision()
        return UpgradeResult(url, before, after)
    finally:
        engine.dispose()


def revision(message: str, url: str = "sqlite://") -> None:
    """Autogenerate a new revision against a database upgraded to head (dev helper)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        db = url if url != "sqlite://" else f"sqlite:///{tmp}/autogen.db"
        upgrade(db)
        command.revision(alembic_config(db), message=message, autogenerate=True)

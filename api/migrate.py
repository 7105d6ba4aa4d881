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
from api.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    """The database cannot be migrated as it is; the message says what to do."""


@dataclass(frozen=True)
class UpgradeResult:
    url: str
    before: str | None
    after: str | None
    stamped: bool = False  # tables existed (made by create_all) and matched: adopted

    def describe(self) -> str:
        where = _redact(self.url)
        if self.stamped:
            return (f"{where}: existing tables match the models; marked as migrated "
                    f"to revision {self.after}")
        if self.before == self.after:
            return f"{where}: already at the latest revision ({self.after}); nothing to do"
        if self.before is None:
            return f"{where}: created the schema (revision {self.after})"
        return f"{where}: upgraded from revision {self.before} to {self.after}"


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
                raise MigrationError(
                    "the database has tables but no migration history, and they differ from "
                    f"the models ({len(diff)} difference(s), first: {diff[0]!r}); back it up "
                    "with `sroi export`, then start from an empty database"
                )
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

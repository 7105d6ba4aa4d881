"""Alembic environment: the schema is ``SQLModel.metadata`` as declared in ``api/tables.py``.

The database URL comes from the Alembic config (``api.migrate`` sets it) or, failing
that, from ``DATABASE_URL`` via ``api.settings``. A caller may hand over an open
connection in ``config.attributes["connection"]`` (used by tests).
SQLite gets ``render_as_batch`` so later ALTERs work there too.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import types as satypes
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import api.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from api.db import make_engine, normalise_url
from api.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    return normalise_url(url)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render SQLModel's column types as plain SQLAlchemy ones, so revisions do not
    depend on sqlmodel internals (AutoString is a String, UTCDateTime a DateTime)."""
    if type_ == "type" and isinstance(obj, satypes.TypeDecorator):
        impl = obj.impl_instance
        if isinstance(impl, satypes.String):
            return f"sa.String(length={impl.length})" if impl.length else "sa.String()"
        if isinstance(impl, satypes.DateTime):
            return f"sa.DateTime(timezone={bool(impl.timezone)})"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""`sroi backup PATH`, `sroi restore PATH` and `sroi audit-export`.

SQLite uses the online backup API, so a backup taken while the server writes is
consistent. PostgreSQL uses pg_dump's custom format and pg_restore, the tools
whose format every PostgreSQL operator already knows.

`sroi audit-export curation|vetting [-o PATH]` writes an audit log (the connectors'
curation decisions, or the vetting changes) as CSV, oldest first. Both logs are
append-only: no route changes or deletes them and the ORM refuses to
(``api.tables.APPEND_ONLY``), so an export is the whole history.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from api.commands.errors import CliError
from api.commands.lang import say, tr
from api.db import normalise_url
from api.messages import msg
from api.settings import get_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("backup", help="write a consistent backup of the database to PATH")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(handler=cmd_backup)
    r = sub.add_parser("restore", help="replace the database's contents with the backup at PATH")
    r.add_argument("path", type=Path)
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.set_defaults(handler=cmd_restore)
    a = sub.add_parser("audit-export",
                       help="write the curation log or the vetting log as CSV (oldest first)")
    a.add_argument("log", choices=AUDIT_LOGS, help="which log: curation decisions or vetting")
    a.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    a.set_defaults(handler=cmd_audit_export)


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise CliError(msg("een SQLite-database in het geheugen kan niet worden geback-upt"))
    return Path(u.database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432)]
    if u.username:
        args += ["-U", u.username]
    env = {}
    if u.password:
        env["PGPASSWORD"] = u.password
    if not u.database:
        raise CliError(msg("DATABASE_URL noemt geen database"))
    # A search_path given in the URL (tests use one schema each) limits the dump to it.
    options = u.query.get("options")
    schema = None
    if isinstance(options, str) and "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0]
    if schema:
        args += ["-n", schema]
    return args + ["-d", u.database], env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    import os

    if shutil.which(cmd[0]) is None:
        raise CliError(msg("{program} is niet geïnstalleerd; installeer de PostgreSQL-"
                           "clientprogramma's", program=cmd[0]))
    proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CliError(msg("{program} is mislukt: {error}", program=cmd[0],
                           error=proc.stderr.strip()), status=1)


def backup(url: str, path: Path, force: bool = False) -> None:
    url = normalise_url(url)
    if path.exists() and not force:
        raise CliError(msg("{path} bestaat al; geef --force om het te overschrijven",
                           path=str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    src_path = _sqlite_path(url)
    if src_path is not None:
        if not src_path.exists():
            raise CliError(msg("databasebestand {path} bestaat niet", path=str(src_path)))
        tmp = path.with_suffix(path.suffix + ".partial")
        src = sqlite3.connect(src_path)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        tmp.replace(path)  # a failed backup never leaves a half file under PATH
        return
    args, env = _pg_args(url)
    tmp = path.with_suffix(path.suffix + ".partial")
    _run(["pg_dump", "-Fc", "--no-owner", "-f", str(tmp), *args], env)
    tmp.replace(path)


def restore(url: str, path: Path) -> None:
    url = normalise_url(url)
    if not path.exists():
        raise CliError(msg("back-up {path} bestaat niet", path=str(path)))
    dst_path = _sqlite_path(url)
    if dst_path is not None:
        try:
            src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            src.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CliError(msg("{path} is geen SQLite-back-up: {error}", path=str(path),
                               error=str(exc)), status=1) from exc
        dst = sqlite3.connect(dst_path)
        try:
            src.backup(dst)  # replaces the whole database atomically for other readers
        finally:
            dst.close()
            src.close()
        return
    args, env = _pg_args(url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          *args, str(path)], env)


def cmd_backup(args: argparse.Namespace) -> int:
    backup(get_settings().database_url, args.path, force=args.force)
    say(msg("back-up geschreven naar {path}", path=args.path))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if not args.yes:
        import sys

        if not sys.stdin.isatty():
            raise CliError(msg("terugzetten vervangt alle gegevens; geef --yes om te "
                               "bevestigen"))
        answer = input(tr(msg("Alle gegevens in de database vervangen door {path}? [j/N] ",
                              path=args.path)))
        if answer.strip().lower() not in {"y", "yes", "j", "ja"}:
            say(msg("terugzetten geannuleerd; er is niets veranderd"))
            return 1
    restore(get_settings().database_url, args.path)
    say(msg("database teruggezet uit {path}", path=args.path))
    return 0


# --- audit export ---------------------------------------------------------------------------

AUDIT_LOGS = ("curation", "vetting")
VETTING_FIELDS = ("id", "decided_at", "decided_by", "enterprise_ref", "status", "valid_until",
                  "reason")


def vetting_csv(session: Any, batch: int = 1000) -> Iterator[str]:
    """Every vetting event as CSV, oldest first, streamed in batches."""
    import csv
    import io

    from sqlmodel import col, select

    from api.tables import VettingEvent

    buf = io.StringIO()
    csv.writer(buf).writerow(VETTING_FIELDS)
    yield buf.getvalue()
    last_id = 0
    while True:
        rows = session.exec(select(VettingEvent).where(col(VettingEvent.id) > last_id)
                            .order_by(col(VettingEvent.id)).limit(batch)).all()
        if not rows:
            return
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            writer.writerow([r.id, r.decided_at.isoformat() if r.decided_at else "",
                             r.decided_by, r.enterprise_ref, r.status,
                             r.valid_until.isoformat() if r.valid_until else "", r.reason])
            last_id = int(r.id or last_id)
        yield buf.getvalue()


def audit_csv(session: Any, log: str) -> Iterator[str]:
    if log == "curation":
        from api.services.curation_log import export_csv

        return export_csv(session)
    if log == "vetting":
        return vetting_csv(session)
    raise CliError(msg("onbekend logboek {log}; kies uit {choices}", log=repr(log),
                       choices=", ".join(AUDIT_LOGS)))


def cmd_audit_export(args: argparse.Namespace) -> int:
    from api.commands.data import _session

    out: Path | None = args.output
    with _session() as session:
        chunks = audit_csv(session, args.log)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            return 0
        tmp = out.with_name(out.name + ".partial")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            tmp.replace(out)  # never a half-written export under PATH
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass  # the directory itself is not writable: nothing was written
            raise CliError(msg("kan {path} niet schrijven: {reason}", path=str(out),
                               reason=exc.strerror or repr(exc)), status=1) from exc
    say(msg("{path} geschreven", path=str(out)), sys.stderr)
    return 0

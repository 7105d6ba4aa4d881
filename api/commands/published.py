"""`sroi import-ocds` and `sroi import-eforms`: published tenders into the store.

Exit status: 0 all imported, 1 some item rejected (nothing from that file written
unless --partial), 2 usage error (a file missing or unreadable: nothing imported).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.importers.common import ImportReport

Importer = Callable[[Session, bytes, str, bool], ImportReport]


def register(subparsers: Any) -> None:
    for name, fmt, help_text in (
        ("import-ocds", "ocds",
         "import OCDS release/record packages or JSON Lines of releases (ref = ocid)"),
        ("import-eforms", "eforms",
         "import eForms XML notices: PIN, contract notice, award notice (ref = BT-04)"),
    ):
        p = subparsers.add_parser(name, help=help_text, description=help_text)
        p.add_argument("files", nargs="+", metavar="FILE", type=Path)
        p.add_argument("--partial", action="store_true",
                       help="import the valid items of a file and report the rejected ones "
                            "(default: a file with any rejected item imports nothing)")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.set_defaults(handler=_handler(fmt))


def _handler(fmt: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return import_files(fmt, args.files, partial=args.partial, as_json=args.json)

    return run


def _importer(fmt: str) -> Importer:
    from api.services.published import import_eforms_bytes, import_ocds_bytes

    return import_ocds_bytes if fmt == "ocds" else import_eforms_bytes


def import_files(fmt: str, files: list[Path], partial: bool = False,
                 as_json: bool = False) -> int:
    from api.commands.errors import CliError
    from api.db import get_engine

    contents: list[tuple[Path, bytes]] = []
    for path in files:
        if not path.is_file():
            raise CliError(f"file not found: {path} (nothing imported)", 2)
        try:
            contents.append((path, path.read_bytes()))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror} (nothing imported)", 2) from exc

    importer = _importer(fmt)
    reports: list[ImportReport] = []
    try:
        engine = get_engine()
        for path, data in contents:
            with Session(engine) as session:
                reports.append(importer(session, data, path.name, partial))
    except SQLAlchemyError as exc:
        raise CliError(f"database error: {exc.__class__.__name__}: "
                       f"{str(exc).splitlines()[0]}", 1) from exc

    if as_json:
        print(json.dumps({"files": [r.to_dict() for r in reports]}, indent=2, default=str))
    else:
        for r in reports:
            print(summary(r))
    return 0 if all(r.ok for r in reports) else 1


def summary(r: ImportReport) -> str:
    lines = [
        f"{r.filename} ({r.format}): {r.created} created, {r.updated} updated, "
        f"{r.unchanged} unchanged, {r.stale} older than stored, {r.rejected} rejected"
    ]
    for err in r.file_errors:
        lines.append(f"  file rejected: {err}")
    for item in r.items:
        for err in item.errors:
            lines.append(f"  rejected: {err}")
    not_written = r.count("not written")
    if not_written:
        lines.append(f"  nothing written from this file: {not_written} valid item(s) held back "
                     "because of the errors above (fix them, or use --partial)")
    return "\n".join(lines)

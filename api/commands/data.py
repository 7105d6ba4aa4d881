"""`sroi import`, `sroi import-<format>`, `sroi export`, `sroi load-fixtures`: files in
and out.

    sroi import FILE… [--format NAME] [--on-duplicate ask|merge|keep-both] [--partial] [--json]
               [--dry-run | --confirm]
    sroi import-ocds FILE… [--partial] [--json] [--dry-run]   (one per published format)
    sroi export [--format json|csv] [--kind enterprises …] [-o PATH]
    sroi load-fixtures [--path FILE]

The formats are those of ``api.importers.registry``. ``--dry-run`` prints the preview (what
each record would become, with the differences) and writes nothing. A plain run previews
first and writes only when no stored record would be overwritten; otherwise it lists the
changes and stops, asking for ``--confirm``. Exit status: 0 all imported (or previewed
without problems); 1 a file was rejected, holds a rejected notice (nothing from that file
written unless --partial), likely duplicates or unconfirmed overwrites (or the database
cannot be reached); 2 usage error (e.g. a missing file). Progress (the step, and the rows
done of the total) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.commands.errors import CliError
from api.commands.lang import cli_lang, say, tr
from api.i18n import N_, format_number, translate
from api.importers import registry
from api.importers.interchange import KINDS
from api.messages import msg, msgn, render_tree

if TYPE_CHECKING:
    from api.services.import_report import Change, FileReport, ImportReport

MAX_ISSUES_SHOWN = 50
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sroi_fixtures.json"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import", help="import interchange files (JSON or CSV), or files of another --format",
        description="Import interchange files (shared/interchange.md): JSON documents or "
        "CSV files of one kind each. Each file is imported whole or not at all; every "
        "problem is listed with its row or JSON path, field and fix. A directory imports "
        "its files with the format's extensions. Formats: " + "; ".join(
            f"{f.name} ({', '.join(f.extensions)}): {f.help}"
            for f in registry.FORMATS.values()))
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=registry.names(), default=registry.DEFAULT,
                   help="the files' format (default %(default)s)")
    p.add_argument("--on-duplicate", choices=("ask", "merge", "keep-both"), default="ask",
                   help="likely duplicate enterprises (same KvK, near-identical name nearby): "
                   "ask = reject the file and list them (default); merge = update the existing "
                   "enterprise; keep-both = keep both")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print what the import would do (new, changed with the differences, "
                      "duplicates, refused) and write nothing")
    mode.add_argument("--confirm", action="store_true",
                      help="write even when stored records are overwritten (see --dry-run)")
    _partial_and_json(p)
    p.set_defaults(handler=run_import)

    for fmt in registry.FORMATS.values():
        if not fmt.published:
            continue
        help_text = f"import {fmt.help}"
        q = subparsers.add_parser(f"import-{fmt.name}", help=help_text, description=help_text)
        q.add_argument("files", nargs="+", metavar="FILE")
        q.add_argument("--dry-run", action="store_true",
                       help="print what the import would do and write nothing")
        _partial_and_json(q)
        q.set_defaults(handler=run_import, format=fmt.name, on_duplicate="ask", confirm=True)

    e = subparsers.add_parser(
        "export", help="export the data as interchange JSON or CSV",
        description="Write the store as an interchange document (JSON) or as CSV files, "
        "one per kind. Re-importing the output gives the same data.")
    e.add_argument("--format", choices=("json", "csv"), default="json")
    e.add_argument("--kind", action="append", choices=KINDS, metavar="KIND",
                   help=f"only this kind ({', '.join(KINDS)}); repeatable; default all")
    e.add_argument("-o", "--output", metavar="PATH",
                   help="file (JSON, or CSV of one kind) or directory (CSV: <kind>.csv each); "
                   "default standard output")
    e.set_defaults(handler=run_export)

    f = subparsers.add_parser(
        "load-fixtures", help="create/migrate the database and load the demo fixtures once",
        description="Run init-db, then import the fixtures only if the database has no "
        "enterprises yet (your data is never overwritten).")
    f.add_argument("--path", default=str(FIXTURES), help="fixtures file (default %(default)s)")
    f.add_argument("--no-demo-activity", action="store_true",
                   help="with the default fixtures, skip the demo activity (a few committed "
                   "allocations, deliveries and accepted matches that fill the dashboard)")
    f.set_defaults(handler=run_load_fixtures)


def _partial_and_json(p: Any) -> None:
    p.add_argument("--partial", action="store_true",
                   help="published notices: import the valid items of a file and report the "
                        "rejected ones (default: a file with any rejected item imports nothing)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


# ------------------------------------------------------------------ helpers


def _session() -> Any:
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    from api.db import get_engine

    engine = get_engine()
    try:
        with engine.connect() as conn:
            has_tables = inspect(conn).has_table("enterprise")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise CliError(msg("database niet bereikbaar: {reason} (controleer DATABASE_URL)",
                           reason=reason), status=1) from exc
    if not has_tables:
        raise CliError(msg("de database heeft nog geen tabellen; voer eerst `sroi init-db` uit"),
                       status=1)
    return Session(engine)


def _expand(paths: list[str], extensions: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(x) for x in p.iterdir()
                           if x.is_file() and x.suffix.lower() in extensions)
            if not found:
                raise CliError(msg("{path}: de map bevat geen bestanden {extensions}",
                                   path=raw, extensions=", ".join(extensions)))
            out.extend(found)
        elif not p.exists():
            raise CliError(msg("bestand niet gevonden: {path} (niets ingelezen)", path=raw))
        elif not p.is_file():
            raise CliError(msg("{path}: geen bestand", path=raw))
        else:
            out.append(raw)
    return out


def print_report(report: ImportReport, out: Any = None) -> None:
    out = out or sys.stdout
    for f in report.files:
        fmt = registry.FORMATS.get(f.format)
        if fmt is not None and fmt.published:
            print(_notices_summary(f), file=out)
            continue
        if f.dry_run:
            print_preview(f, out)
            continue
        lang = cli_lang()
        head = translate("ingelezen", lang) if f.ok else translate("NIET ingelezen", lang)
        print(f"{f.file}: {head}", file=out)
        for line in f.summary_lines():
            if f.ok:
                print(f"  {line.render(lang)}", file=out)
        if f.ok and f.vetting_events:
            print("  " + translate("screeningswijzigingen vastgelegd: {n}", lang,
                                   n=f.vetting_events), file=out)
        for d in f.duplicates:
            mark = {"ask": N_("waarschijnlijk dubbel"), "merged": N_("samengevoegd"),
                    "kept both": N_("beide bewaard")}
            print(f"  {translate(mark.get(d.action, d.action), lang)}: {d.describe().render(lang)}",
                  file=out)
        if not f.ok:
            for issue in f.issues[:MAX_ISSUES_SHOWN]:
                print(f"  {issue.render(cli_lang())}", file=out)
            if len(f.issues) > MAX_ISSUES_SHOWN:
                say(msg("  … en nog {n} (--json toont alles)",
                        n=len(f.issues) - MAX_ISSUES_SHOWN), out)
            print(f"  {f.summary_lines()[0].render(lang)}", file=out)
    if report.has_duplicates and report.dry_run:
        say(msg("Er zijn waarschijnlijke dubbelen gevonden; het inlezen vraagt om opnieuw te "
                "starten met --on-duplicate merge of --on-duplicate keep-both."), out)
    elif report.has_duplicates:
        say(msg("Er zijn waarschijnlijke dubbelen gevonden; zonder uw besluit wordt niets "
                "samengevoegd. Start opnieuw met --on-duplicate merge (de bestaande onderneming "
                "bijwerken, haar ref blijft) of --on-duplicate keep-both."), out)


def _change_line(c: Change) -> str:
    what = {"new": msg("nieuw"), "changed": msg("zou wijzigen"),
            "merged": msg("samenvoegen met {ref}", ref=c.into), "refused": msg("GEWEIGERD")
            }.get(c.action, c.action)
    line = f"  {c.kind} {c.ref}: {tr(what)}"
    if c.reason:
        line += f" ({tr(c.reason)})"
    for name, (old, new) in c.diff.items():
        line += f"\n      {name}: {old!r} -> {new!r}"
    for name, (old, new) in c.kept.items():
        line += "\n      " + tr(msg("{name}: houdt {old} (bestand: {new}, niet toegepast)",
                                   name=name, old=repr(old), new=repr(new)))
    return line


def print_preview(f: FileReport, out: Any) -> None:
    counts = f.action_counts()
    say(msg("{file}: voorbeeld, niets geschreven — {counts}", file=f.file,
            counts=", ".join(f"{n} {a}" for a, n in counts.items() if n)), out)
    listed = [c for c in f.changes if c.action != "unchanged"]
    for c in listed[:MAX_ISSUES_SHOWN]:
        print(_change_line(c), file=out)
    if len(listed) > MAX_ISSUES_SHOWN:
        say(msg("  … en nog {n}", n=len(listed) - MAX_ISSUES_SHOWN), out)
    for d in f.duplicates[:MAX_ISSUES_SHOWN]:
        print("  " + translate("waarschijnlijk dubbel", cli_lang()) + ": "
              + d.describe().render(cli_lang()), file=out)
    if f.duplicates_total > MAX_ISSUES_SHOWN:
        say(msg("  … {n} waarschijnlijk dubbele paren in totaal", n=f.duplicates_total), out)
    for issue in f.issues[:MAX_ISSUES_SHOWN]:
        print(f"  {issue.render(cli_lang())}", file=out)


def _notices_summary(r: FileReport) -> str:
    lines = [tr(msg("{file} ({format}): {created} aangemaakt, {updated} bijgewerkt, "
                    "{unchanged} ongewijzigd, {stale} ouder dan opgeslagen, {rejected} "
                    "geweigerd", file=r.file, format=r.format, created=r.created,
                    updated=r.updated, unchanged=r.unchanged, stale=r.stale,
                    rejected=r.rejected))]
    lang = cli_lang()
    for err in r.file_errors:
        lines.append(tr(msg("  bestand geweigerd: {reason}", reason=err.render(lang))))
    for warning in r.file_warnings:
        lines.append(tr(msg("  waarschuwing: {reason}", reason=warning.render(lang))))
    for issue in r.issues:  # a file that could not be read
        lines.append(tr(msg("  bestand geweigerd: {reason}", reason=issue.render(lang))))
    for item in r.items:
        for err in item.errors:
            lines.append(tr(msg("  geweigerd: {reason}", reason=err.render(lang))))
    shown = 0
    for item in r.items:
        for warning in item.warnings:
            if shown < MAX_ISSUES_SHOWN:
                lines.append(tr(msg("  waarschuwing: {reason}", reason=warning.render(lang))))
            shown += 1
    if shown > MAX_ISSUES_SHOWN:
        lines.append(tr(msgn("  … en nog {n} waarschuwing (--json toont alles)",
                             "  … en nog {n} waarschuwingen (--json toont alles)",
                             shown - MAX_ISSUES_SHOWN)))
    not_written = r.count("not written")
    if not_written:
        lines.append(tr(msgn("  niets geschreven uit dit bestand: {n} geldig item "
                             "tegengehouden door de fouten hierboven (herstel ze, of gebruik "
                             "--partial)", "  niets geschreven uit dit bestand: {n} geldige "
                             "items tegengehouden door de fouten hierboven (herstel ze, of "
                             "gebruik --partial)", not_written)))
    return "\n".join(lines)


class ProgressLine:
    """``import_files``'s progress on stderr: one line rewritten in place on a terminal,
    otherwise a line when a step starts or ends and every few seconds (logs stay short)."""

    # (step, unit) per import step, said in the command's language.
    UNITS = {"read": (N_("lezen"), N_("bestanden")),
             "duplicates": (N_("dubbelen controleren"), N_("nieuwe ondernemingen")),
             "write": (N_("inlezen"), N_("rijen"))}

    def __init__(self, stream: Any = None, every_s: float = 5.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = 0.2 if self.tty else every_s
        self.step, self.last, self.open = "", 0.0, False

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        edge = step != self.step or done >= total
        if not edge and now - self.last < self.every_s:
            return
        self.step, self.last = step, now
        what, unit = self.UNITS.get(step, (step, N_("rijen")))
        lang = cli_lang()
        text = (f"{translate(what, lang)}: {format_number(done, lang=lang)}/"
                f"{format_number(total, lang=lang)} {translate(unit, lang)}")
        if self.tty:
            self.stream.write("\r" + text.ljust(60))
            self.open = True
        else:
            print(text, file=self.stream)
        self.stream.flush()

    def close(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.open = False


# ------------------------------------------------------------------ commands


def run_import(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from api.services.importing import import_paths

    paths = _expand(args.files, registry.get(args.format).extensions)
    progress = ProgressLine()
    try:
        with _session() as session:
            held: list[Change] = []
            expect: list[str] | None = None
            if args.dry_run or not args.confirm:
                report = import_paths(session, paths, args.on_duplicate, format=args.format,
                                      partial=args.partial, dry_run=True, progress=progress)
                progress.close()
                held = [] if args.dry_run else report.overwrites
                expect = report.fingerprints
            if not args.dry_run and not held:
                # Without --confirm, write exactly what was previewed (a change in between
                # stops the file).
                report = import_paths(session, paths, args.on_duplicate, format=args.format,
                                      partial=args.partial, expect=expect, progress=progress)
    except SQLAlchemyError as exc:
        raise CliError(msg("databasefout: {error}", error=f"{exc.__class__.__name__}: "
                           + str(exc).splitlines()[0]), 1) from exc
    finally:
        progress.close()
    if args.json:
        # Machine-readable, but its messages in the chosen language (not stored message JSON).
        print(json.dumps(render_tree(report.to_dict(), cli_lang()), ensure_ascii=False,
                         indent=2))
    else:
        print_report(report)
    if held:
        say(msgn("Niets geschreven: {n} opgeslagen record zou worden overschreven (hierboven). "
                 "Start opnieuw met --confirm om het te schrijven.",
                 "Niets geschreven: {n} opgeslagen records zouden worden overschreven "
                 "(hierboven). Start opnieuw met --confirm om ze te schrijven.", len(held)),
            sys.stderr)
        return 1
    return 0 if report.ok else 1


def run_export(args: argparse.Namespace) -> int:
    try:
        return _export(args)
    except OSError as exc:
        where = exc.filename or args.output
        raise CliError(msg("kan {path} niet schrijven: {reason}", path=where,
                           reason=exc.strerror or repr(exc)), status=1) from exc


def _export(args: argparse.Namespace) -> int:
    from api.services.exporting import dumps, export_csv, export_document

    kinds = [k for k in KINDS if k in (args.kind or KINDS)]
    with _session() as session:
        if args.format == "json":
            text = dumps(export_document(session, kinds))
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
                say(msg("{path} geschreven", path=args.output), sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        if args.output and (Path(args.output).is_dir() or len(kinds) > 1):
            out_dir = Path(args.output)
            out_dir.mkdir(parents=True, exist_ok=True)
            for kind in kinds:
                target = out_dir / f"{kind}.csv"
                target.write_text(export_csv(session, kind), encoding="utf-8")
                say(msg("{path} geschreven", path=str(target)), sys.stderr)
            return 0
        if len(kinds) > 1:
            raise CliError(msg("CSV bevat één soort per bestand: geef --kind SOORT, of "
                               "-o MAP voor één bestand per soort"))
        text = export_csv(session, kinds[0])
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            say(msg("{path} geschreven", path=args.output), sys.stderr)
        else:
            sys.stdout.write(text)
    return 0


def run_load_fixtures(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from api.commands.db import init_db
    from api.services.importing import import_paths
    from api.tables import EnterpriseRow

    say(init_db())
    with _session() as session:
        count = session.exec(select(func.count()).select_from(EnterpriseRow)).one()[0]
        if count:
            say(msgn("voorbeelddata al ingelezen, uw gegevens blijven ({n} onderneming)",
                     "voorbeelddata al ingelezen, uw gegevens blijven ({n} ondernemingen)",
                     count))
            return 0
        path = Path(args.path)
        if not path.is_file():
            say(msg("geen voorbeelddata in {path}; de database blijft leeg (lees uw eigen "
                    "gegevens in met `sroi import BESTAND`)", path=str(path)))
            return 0
        # Demo data is curated: near-identical names in it are meant as separate entries.
        report = import_paths(session, [str(path)], "keep-both")
        print_report(report)
        if report.ok and path.resolve() == FIXTURES.resolve() and not args.no_demo_activity:
            made = _demo_activity(session)
            say(msgn("demo-activiteit: {n} toegezegde toewijzing met leveringen en "
                     "geaccepteerde matches", "demo-activiteit: {n} toegezegde toewijzingen met "
                     "leveringen en geaccepteerde matches", made))
    return 0 if report.ok else 1


def _demo_activity(session: Any) -> int:
    """fixtures/activity.py beside the default fixtures (the repository's, not a package:
    the fixtures are demo data, not part of the installed product)."""
    import importlib.util

    from api.clock import today

    spec = importlib.util.spec_from_file_location("sroi_demo_activity",
                                                  FIXTURES.parent / "activity.py")
    if spec is None or spec.loader is None:
        return 0
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.add_demo_activity(session, until=today()))

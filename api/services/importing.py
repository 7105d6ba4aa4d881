"""The one import pipeline: ``import_files(session, [(name, bytes), …], format=NAME)``
parses each file with the parser ``api.importers.registry`` holds for the format, writes
what it returns, and reports in one ``ImportReport`` (``api.services.import_report``).
Parsers return interchange records (written here) or published tenders (written by
``api.services.published.stage_tenders``; this module owns their transaction).

Transactions: **each file is its own transaction**. A file is validated completely
(including its references into the database and the duplicate check) before anything is
written, then written and committed; a file with any problem writes nothing and leaves the
database exactly as it was before that file. Other files of the same call are still
imported and reported. Note that this commits the session (once per imported file).

Files are processed in dependency order — files with tenders first, files holding only
obligations last — so obligations may refer to tenders in another file of the same call;
published files holding only change, modification or completion notices come after the
other published files, so they find the tender their contract notice creates in the same
call. The report keeps the order the files were given in.

Preview: every file's change set (``FileReport.changes``: per record new / changed with
each field as [stored, file] / unchanged / merged / refused, plus the duplicates) is
computed by the write itself; ``dry_run`` rolls it back instead of committing. A write
given the preview's fingerprints (``expect``) commits only if its change set is the one
previewed. The web page, ``sroi import`` and ``POST /api/v1/import`` all preview first.

Owners: a tender whose ref is stored under another buyer, an obligation under another
firm, is refused and the file not written — an import never moves a record to another
owner (an admin does that by editing the record).

Idempotent by ``ref``: importing the same file twice changes nothing the second time
(counts: created / updated / unchanged). An update replaces the entity's fields with the
file's, except that absent store-only keys in ``extra`` (``status``, ``reserved``…) keep
their current values; ``extra`` keys ``merged_refs`` are kept. An import never changes an
existing enterprise's vetting (that is the vetting flow's, with its log): the file's
vetting is shown as ``kept``. A new enterprise's vetting appends a ``VettingEvent``.

Published notices (OCDS, eForms…) are written per notice: without ``partial`` any
rejected notice means nothing from its file is written (the valid ones are reported "not
written"); with it the valid ones are written and the rejected ones reported.

Published files are committed in batches (``PUBLISHED_BATCH`` files), not one by one:
eForms and TED publish one notice per file, and a commit per notice spent most of a
10,000-notice import waiting for the disk (issue #13: 10,000 notices in under 60 s; see
``bench/bench_published.py``). Each file is still all or nothing: it is written inside its
own SAVEPOINT, released when the file is accepted and rolled back when it is not, so one
bad notice loses nothing else. What batching changes: a file is durable when its batch
commits, not before; ``import_files`` returns only after the last batch committed, so no
report ever calls a file written that is not; if a batch's commit fails, every file of
that batch is reported not written (nothing of it is stored) and the error is raised, the
batches before it stay committed. An interchange file in the same call commits the
pending batch first (it owns its own transaction). On SQLite a batch holds the write
lock until it commits (``BEGIN IMMEDIATE``; a second writer waits, ``busy_timeout``).

Duplicate enterprises (a new ref with the KvK number of another enterprise, or a nearly
identical name in the same area; see ``api.services.duplicates``):

* ``ask`` (default): the file is rejected, listing the likely pairs (all counted, the first
  ``KEEP_DUPLICATES`` kept), asking to re-run with ``merge`` or ``keep-both``. Nothing is
  ever merged silently.
* ``merge``: the newcomer updates the existing enterprise under its existing ref (fields the
  newcomer gives overwrite, others stay; the stored name and vetting stay, the file's are
  shown as ``kept``); the newcomer's ref is recorded in ``extra["merged_refs"]`` and later
  imports of that ref update the same enterprise.
* ``keep-both``: both are kept as separate enterprises.

Progress and cancelling: ``progress(step, done, total)`` is called as the call goes on
(step ``read``: files read of all; ``duplicates``: newcomers checked of the file's;
``write``: records of all files written or previewed). It may raise ``ImportCancelled``:
the file being imported (and a batch of published files not yet committed) is rolled back
and reported, with the files after it, as not imported (``ImportReport.cancelled``).
``api.services.import_jobs`` runs imports in the background this way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path, PurePath
from typing import Any, Literal

from sqlalchemy import String, and_, cast, insert, or_, select, text
from sqlmodel import Session, SQLModel, col

from api.clock import utcnow
from api.importers import registry
from api.importers.common import ItemError, ParsedTenders
from api.importers.interchange import (
    KINDS,
    MAX_FILE_BYTES,
    Issue,
    ParsedFile,
    Record,
    dangling_tender_issue,
    obligation_amount_issue,
    tender_amount_problem,
)
from api.importers.registry import Parsed
from api.messages import Message, msg
from api.services.duplicates import Candidate, DuplicateScan, scan_duplicates
from api.services.import_report import (
    KEEP_DUPLICATES,
    Change,
    DuplicatePair,
    FileReport,
    ImportReport,
    plain,
)
from api.services.published import stage_tenders
from api.services.vetting_flow import IMPORT_OF, IMPORTED_FROM
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow, VettingEvent

OnDuplicate = Literal["ask", "merge", "keep-both"]
ON_DUPLICATE: tuple[str, ...] = ("ask", "merge", "keep-both")
ROW_CLASSES: dict[str, type[SQLModel]] = {
    "enterprises": EnterpriseRow, "tenders": TenderRow, "challenges": ChallengeRow,
    "obligations": ObligationRow,
}
VETTING_COLUMNS = ("vetting_status", "vetted_by", "vetted_on", "vetting_valid_until")
# Interchange field -> the enterprise columns it sets (for merging given fields only).
ENTERPRISE_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",), "kvk": ("kvk",), "description": ("description",), "cpv": ("cpv",),
    "municipality": ("municipality_code", "lat", "lon"), "postcode": ("postcode",),
    "lat": ("lat", "lon"), "lon": ("lat", "lon"), "service_radius_km": ("service_radius_km",),
    "target_groups": ("target_groups",), "themes": ("themes",),
    "capacity": ("placements_per_year", "purchasing_eur_per_year"),
    "target_group_share": ("target_group_share",),
    "trade_income_share": ("trade_income_share",), "certifications": ("certifications",),
    "vetting": VETTING_COLUMNS,
    "contact": ("contact_name", "contact_email", "contact_phone", "website"),
    "extra": ("extra",),
}
# Who owns a record of each kind: a file may not move a record to another owner.
OWNER_FIELD: dict[str, str] = {"tenders": "buyer", "obligations": "firm"}
CHUNK = 500
# Published files written per commit (see the module docstring).
PUBLISHED_BATCH = 500
# How often (in records) the write reports progress: cheap, and often enough to cancel.
PROGRESS_EVERY = 200

Progress = Callable[[str, int, int], None]


class ImportCancelled(Exception):  # noqa: N818 - a request, not an error
    """Raised by a progress callback to stop the import (see the module docstring)."""


class _Rows:
    """Counts records written or previewed over all files of a call, for ``progress``."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def tick(self, n: int = 1) -> None:
        before, self.done = self.done, self.done + n
        if self.progress is not None and (
                before // PROGRESS_EVERY != self.done // PROGRESS_EVERY
                or self.done == self.total):
            self.progress("write", self.done, self.total)

    def step(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(name, done, total)


# ------------------------------------------------------------------ entry point


def import_files(session: Session, files: Sequence[tuple[str, bytes]],
                 on_duplicate: OnDuplicate = "ask", *, format: str = registry.DEFAULT,
                 partial: bool = False, only_buyer: str | None = None,
                 dry_run: bool = False, expect: Sequence[str] | None = None,
                 progress: Progress | None = None) -> ImportReport:
    """Parse each file with ``format``'s parser and store it in its own transaction (see
    module docstring). ``partial`` and ``only_buyer`` apply to published notices:
    write a file's valid notices despite rejected ones; refuse any buyer but this one
    (an officer's import).

    ``dry_run``: the preview. Every file goes through exactly the write below and is then
    rolled back, so the change set shown is the one a write makes. ``expect``: the
    fingerprints of a preview, one per file; a file whose change set no longer matches
    (the database changed since) is not written. ``progress``: see the module docstring."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}, got {on_duplicate!r}")
    fmt = registry.get(format)
    reports = [FileReport(name, format=fmt.name, partial=partial, dry_run=dry_run,
                          source_digest=hashlib.sha256(data).hexdigest())
               for name, data in files]
    parsed: list[Parsed] = []
    rows = _Rows(progress, 0)
    try:
        for (name, data), report in zip(files, reports, strict=True):
            start = time.perf_counter()
            parsed.append(_parse(fmt, name, data))
            report.seconds += time.perf_counter() - start
            rows.step("read", len(parsed), len(files))
    except ImportCancelled:
        return _cancelled(reports, range(len(files)), fmt.name, on_duplicate, partial)
    rows.total = sum(_record_count(p) for p in parsed)

    def order(i: int) -> int:
        pf = parsed[i]
        if not isinstance(pf, ParsedFile):
            # Change and modification notices after the others: they update a tender
            # that a contract notice of the same call may create (a folder lists
            # "change-cn_…" before "cn_…").
            return 1 if pf.tenders and all(t.update_only for t in pf.tenders) else 0
        recs = pf.records
        if recs["tenders"]:
            return 0
        if recs["obligations"] and not any(recs[k] for k in KINDS if k != "obligations"):
            return 2
        return 1

    batch = _Batch(session)
    todo = sorted(range(len(files)), key=order)
    for n, i in enumerate(todo):
        start = time.perf_counter()
        pf = parsed[i]
        expected = expect[i] if expect is not None and i < len(expect) else None
        try:
            if isinstance(pf, ParsedFile):
                batch.commit()
                _import_one(session, pf, reports[i], on_duplicate, dry_run, expected, rows)
            else:
                _import_published(session, pf, reports[i], partial, only_buyer, dry_run,
                                  None if dry_run else batch)
                rows.tick(_record_count(pf))
        except ImportCancelled:
            # The batch's files not yet committed are undone with this one.
            held = [j for j, r in enumerate(reports) if any(r is b for b in batch.reports)]
            batch.reports = []
            session.rollback()
            return _cancelled(reports, dict.fromkeys(held + todo[n:]), fmt.name,
                              on_duplicate, partial)
        finally:
            reports[i].seconds += time.perf_counter() - start
    batch.commit()
    return ImportReport(reports, fmt.name, on_duplicate, partial)


def _record_count(parsed: Parsed) -> int:
    if isinstance(parsed, ParsedFile):
        return sum(len(v) for v in parsed.records.values())
    return len(parsed.tenders) + len(parsed.rejected)


def _cancelled(reports: list[FileReport], stopped: Iterable[int], fmt: str,
               on_duplicate: str, partial: bool) -> ImportReport:
    """The report of a cancelled call: the files not (completely) imported say so; the
    files imported before the cancel keep their report (they are written)."""
    for i in stopped:
        r = reports[i]
        r.status = "rejected"
        r.written = False
        r.reset_counts()
        r.changes, r.items, r.duplicates, r.duplicates_total = [], [], [], 0
        r.issues = [Issue(r.file, "", None, msg("het inlezen is afgebroken; niets uit dit "
                                               "bestand is opgeslagen"),
                          msg("start het inlezen opnieuw wanneer u dat wilt"))]
    return ImportReport(reports, fmt, on_duplicate, partial, cancelled=True)


def import_parsed(session: Session, parsed: ParsedFile, on_duplicate: OnDuplicate = "ask",
                  *, dry_run: bool = False) -> FileReport:
    """Store records already parsed and checked (``interchange.check_record``: a web form's
    one record) exactly as an imported file's: the references into the database, the
    duplicate check, the owner refusal, the vetting kept, one transaction, all or nothing."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}, got {on_duplicate!r}")
    report = FileReport(parsed.name, format=registry.DEFAULT, dry_run=dry_run)
    _import_one(session, parsed, report, on_duplicate, dry_run)
    return report


def ref_in_use(session: Session, kind: str, ref: str) -> bool:
    """Whether a new record may not take ``ref``: one is stored under it, or (enterprises)
    it was merged into another enterprise, so an import of it updates that one."""
    cls: Any = ROW_CLASSES[kind]
    if session.execute(select(cls.ref).where(cls.ref == ref)).first() is not None:
        return True
    return kind == "enterprises" and ref in _merged_aliases(session)


def _parse(fmt: registry.Format, name: str, data: bytes) -> Parsed:
    try:
        return fmt.parse(data, name)
    except Exception as exc:  # a bug in the parser must not lose the other files
        pf = ParsedFile(name=name, format="unknown")
        pf.issues.append(Issue(name, "", None,
                               msg("onverwachte fout bij het lezen: {error}",
                                  error=exc.__class__.__name__),
                               msg("meld dit bestand aan de beheerders")))
        return pf


def import_paths(session: Session, paths: Sequence[str],
                 on_duplicate: OnDuplicate = "ask", *, format: str = registry.DEFAULT,
                 partial: bool = False, dry_run: bool = False,
                 expect: Sequence[str] | None = None,
                 progress: Progress | None = None) -> ImportReport:
    """``import_files`` for files on disk; a file over the size limit is not even read, and
    one that cannot be read is reported like any rejected file."""
    files: list[tuple[str, bytes]] = []
    unread: dict[int, Issue] = {}
    for i, p in enumerate(paths):
        try:
            size = Path(p).stat().st_size
            if size > MAX_FILE_BYTES:
                unread[i] = Issue(
                    p, "", None, msg("bestand is te groot ({size} MB; hoogstens {max} MB)",
                                    size=round(size / 1e6), max=MAX_FILE_BYTES // 2**20),
                    msg("splits het in meerdere bestanden (elk wordt apart ingelezen)"))
                files.append((p, b""))
            else:
                files.append((p, Path(p).read_bytes()))
        except OSError as exc:
            unread[i] = Issue(p, "", None, msg("het bestand is niet te lezen: {error}",
                                              error=str(exc.strerror or exc)),
                              msg("controleer het pad en de rechten"))
            files.append((p, b""))
    report = import_files(session, [f for i, f in enumerate(files) if i not in unread],
                          on_duplicate, format=format, partial=partial, dry_run=dry_run,
                          expect=[e for i, e in enumerate(expect) if i not in unread]
                          if expect is not None else None, progress=progress)
    out: list[FileReport] = []
    it = iter(report.files)
    for i, (name, _) in enumerate(files):
        if i in unread:
            out.append(FileReport(name, format=report.format, status="rejected",
                                  issues=[unread[i]], partial=partial, dry_run=dry_run))
        else:
            out.append(next(it))
    return ImportReport(out, report.format, on_duplicate, partial, report.cancelled)


class _Batch:
    """Published files written since the last commit (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reports: list[FileReport] = []

    def begin(self) -> None:
        """Open the batch's transaction. pysqlite opens one only before a data change, so
        a SAVEPOINT sent first would open it itself and its RELEASE would commit; an
        explicit BEGIN IMMEDIATE makes the savepoints nest (and takes the write lock now,
        not half-way through the batch)."""
        conn = self.session.connection()
        if conn.dialect.name == "sqlite":
            raw = conn.connection.dbapi_connection
            if raw is not None and not raw.in_transaction:  # type: ignore[attr-defined]
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    def add(self, report: FileReport) -> None:
        self.reports.append(report)
        if len(self.reports) >= PUBLISHED_BATCH:
            self.commit()

    def commit(self) -> None:
        if not self.reports:
            return
        reports, self.reports = self.reports, []
        try:
            self.session.commit()
        except Exception as exc:
            self.session.rollback()
            for report in reports:
                _not_written(report, msg("de reeks bestanden met dit bestand kon niet worden "
                                        "vastgelegd ({error}); er is niets van opgeslagen",
                                        error=exc.__class__.__name__))
            raise


def _not_written(report: FileReport, reason: Message | None = None) -> None:
    for outcome in report.items:
        if outcome.action not in ("rejected", "not written"):
            outcome.action = "not written"
    if reason is not None:
        report.file_errors.append(ItemError(report.file, reason))
    _count_published(report, dry_run=False)


def _import_published(session: Session, parsed: ParsedTenders, report: FileReport,
                      partial: bool, only_buyer: str | None, dry_run: bool = False,
                      batch: _Batch | None = None) -> None:
    """Published notices, all or nothing for the file: without ``partial`` any rejected
    notice means nothing from the file is written. With ``batch`` the file is written in
    its own savepoint and committed with its batch; without, in its own transaction."""
    report.file_errors.extend(parsed.file_errors)
    report.file_warnings.extend(parsed.file_warnings)
    report.items.extend(parsed.rejected)
    if batch is not None and not parsed.tenders:
        _count_published(report, dry_run)  # nothing to write: no savepoint needed
        return
    if batch is not None:
        batch.begin()
    savepoint = session.begin_nested() if batch is not None else None
    try:
        staged = stage_tenders(session, parsed, only_buyer)
        report.items.extend(staged)
        if dry_run:
            session.rollback()
        elif report.errors and not partial:
            if savepoint is not None:
                savepoint.rollback()
            else:
                session.rollback()
            _not_written(report)
        elif savepoint is not None:
            savepoint.commit()
        else:
            session.commit()
    except Exception:
        if savepoint is not None and batch is not None:
            # This file is undone; the files before it in the batch are kept.
            if savepoint.is_active:
                savepoint.rollback()
            batch.commit()
        else:
            session.rollback()
        raise
    _count_published(report, dry_run)
    if batch is not None and not dry_run:
        batch.add(report)


def _count_published(report: FileReport, dry_run: bool) -> None:
    counts = report.counts["tenders"]
    for action in ("created", "updated", "unchanged", "stale"):
        setattr(counts, action, report.count(action))
    # A preview says what the write would do: with ``partial`` the valid notices of a file
    # that also holds rejected ones would be written ("partial").
    would_write = counts.created + counts.updated > 0 and (report.partial or not report.errors)
    report.written = not dry_run and would_write
    report.status = ("imported" if not report.errors
                     else "partial" if would_write else "rejected")


def _import_one(session: Session, pf: ParsedFile, report: FileReport,
                on_duplicate: OnDuplicate, dry_run: bool = False,
                expected: str | None = None, rows: _Rows | None = None) -> None:
    rows = rows or _Rows(None, 0)
    if pf.issues:
        report.status = "rejected"
        report.issues = list(pf.issues)
        rows.tick(_record_count(pf))
        return
    try:
        issues = _check_references(session, pf)
        if issues:
            report.status = "rejected"
            report.issues = issues
            session.rollback()
            return
        plan = _plan_enterprises(session, pf, on_duplicate, rows)
        action = {"ask": "ask", "merge": "merged"}.get(on_duplicate, "kept both")
        report.add_duplicates([DuplicatePair.from_match(m, action) for m in plan.scan.kept],
                              plan.scan.total)
        if plan.scan.total and on_duplicate == "ask":
            report.status = "duplicates"
            session.rollback()
            if not dry_run:
                return
            # The preview goes on: it shows what else the file would do.
        _write(session, pf, plan, report, rows)
        report.seal()
        refused = report.refused
        if refused:
            session.rollback()
            report.status = "rejected"
            report.issues = [Issue(pf.name, c.ref, OWNER_FIELD.get(c.kind), c.reason,
                                   msg("wijzig de eigenaar door het record te bewerken, niet "
                                      "door in te lezen"))
                             for c in refused]
            return
        if dry_run or report.status == "duplicates":
            session.rollback()
            return
        if expected is not None and expected != report.fingerprint:
            session.rollback()
            report.status = "rejected"
            report.reset_counts()
            report.issues = [Issue(pf.name, "", None,
                                   msg("de gegevens zijn gewijzigd sinds de voorvertoning; er "
                                      "is niets opgeslagen"),
                                   msg("bekijk het bestand opnieuw en bevestig de nieuwe "
                                      "voorvertoning"))]
            return
        session.commit()
        report.written = any(c.created or c.updated or c.merged for c in report.counts.values())
        _analyze_after_bulk(session, report)
    except ImportCancelled:
        session.rollback()
        raise
    except Exception as exc:
        session.rollback()
        report.status = "rejected"
        report.reset_counts()
        report.changes = []
        report.vetting_events = 0
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        report.issues = [Issue(pf.name, "", None,
                               msg("databasefout, niets uit dit bestand is opgeslagen: "
                                  "{error}: {detail}", error=exc.__class__.__name__,
                                  detail=detail[0] if detail else ""),
                               msg("probeer het opnieuw; meld het als het zich herhaalt"))]


def _analyze_after_bulk(session: Session, report: FileReport) -> None:
    """PostgreSQL plans from table statistics; right after a bulk insert they still say
    "empty" and lookups by ref turn into sequential scans (200 s instead of 10 s to re-check
    100k enterprises) until autovacuum catches up. Refresh them now."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for kind, counts in report.counts.items():
        if counts.created >= 1000:
            table = ROW_CLASSES[kind].__tablename__  # type: ignore[attr-defined]
            try:
                session.execute(text(f'ANALYZE "{table}"'))
                session.commit()
            except Exception:  # statistics are an optimisation only
                session.rollback()


# ------------------------------------------------------------------ lookups


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _rows_by_ref(session: Session, cls: Any, refs: Iterable[str]) -> dict[str, Any]:
    wanted = sorted(set(refs))
    out: dict[str, Any] = {}
    for chunk in _chunks(wanted):
        for row in session.execute(select(cls).where(cls.ref.in_(chunk))).scalars():
            out[row.ref] = row
    return out


def _check_references(session: Session, pf: ParsedFile) -> list[Issue]:
    """Obligations' tenders that are not in the file must be in the database."""
    in_file = {r.ref for r in pf.records["tenders"]}
    outside = [r for r in pf.records["obligations"]
               if r.values.get("tender_ref") and r.values["tender_ref"] not in in_file]
    if not outside:
        return []
    tenders = _rows_by_ref(session, TenderRow, [r.values["tender_ref"] for r in outside])
    issues: list[Issue] = []
    for rec in outside:
        row = tenders.get(rec.values["tender_ref"])
        if row is None:
            issues.append(dangling_tender_issue(pf.name, rec))
            continue
        if rec.values.get("amount_eur") is None:
            problem = tender_amount_problem(
                {c: getattr(row, c) for c in ("sroi_percentage", "sroi_amount_eur", "sroi_basis",
                                              "sroi_labour_cost_eur", "contract_value_eur")})
            if problem:
                issues.append(obligation_amount_issue(pf.name, rec, problem))
    return issues


# ------------------------------------------------------------------ enterprises


@dataclass
class _EnterprisePlan:
    existing: dict[str, EnterpriseRow]  # by ref, for refs in the file and merge targets
    alias: dict[str, str]  # incoming ref -> ref it updates (merged earlier or now)
    scan: DuplicateScan


def _merged_aliases(session: Session) -> dict[str, str]:
    """merged ref -> the enterprise it was merged into."""
    out: dict[str, str] = {}
    stmt = select(col(EnterpriseRow.ref), col(EnterpriseRow.extra)).where(
        cast(col(EnterpriseRow.extra), String).like("%merged_refs%"))
    for ref, extra in session.execute(stmt).all():
        for m in (extra or {}).get("merged_refs", []) or []:
            out[str(m)] = ref
    return out


def _plan_enterprises(session: Session, pf: ParsedFile, on_duplicate: OnDuplicate,
                      rows: _Rows | None = None) -> _EnterprisePlan:
    recs = pf.records["enterprises"]
    if not recs:
        return _EnterprisePlan({}, {}, DuplicateScan())
    existing = _rows_by_ref(session, EnterpriseRow, [r.ref for r in recs])
    aliases = _merged_aliases(session)
    alias = {r.ref: aliases[r.ref] for r in recs if r.ref not in existing and r.ref in aliases}
    new = [r for r in recs if r.ref not in existing and r.ref not in alias]
    scan = DuplicateScan()
    if new:
        in_file = {r.ref for r in recs}
        db = [c for c in _area_candidates(session, new) if c.ref not in in_file]
        # Enterprises of this file that already exist are "existing" too (their new values).
        db += [_candidate(r) for r in recs if r.ref in existing]
        scan = scan_duplicates([_candidate(r) for r in new], db, keep=KEEP_DUPLICATES,
                               progress=(lambda d, t: rows.step("duplicates", d, t))
                               if rows is not None else None)
        if on_duplicate == "merge":
            for r in new:
                hit = scan.best.get(r.ref)
                if hit is not None:
                    target = hit.other.ref
                    alias[r.ref] = alias.get(target, target)
    targets = [t for t in alias.values() if t not in existing]
    existing.update(_rows_by_ref(session, EnterpriseRow, targets))
    return _EnterprisePlan(existing, alias, scan)


# Degrees around a newcomer within which stored enterprises are compared (≥ NEAR_KM).
_BOX_LAT, _BOX_LON = 0.12, 0.2
_AREA_QUERY_MAX = 200


def _area_candidates(session: Session, new: Sequence[Record]) -> list[Candidate]:
    """Stored enterprises that could duplicate a newcomer: same KvK, same municipality or
    nearby (duplicates by name must be in the same area). For a small file only those are
    read; for a large one the whole registry (blocking then keeps the comparison fast)."""
    stmt = select(col(EnterpriseRow.ref), col(EnterpriseRow.name), col(EnterpriseRow.kvk),
                  col(EnterpriseRow.municipality_code), col(EnterpriseRow.lat),
                  col(EnterpriseRow.lon))
    if len(new) <= _AREA_QUERY_MAX:
        conds: list[Any] = []
        kvks = sorted({r.values["kvk"] for r in new if r.values.get("kvk")})
        if kvks:
            conds.append(col(EnterpriseRow.kvk).in_(kvks))
        munis = sorted({r.values["municipality_code"] for r in new
                        if r.values.get("municipality_code")})
        if munis:
            conds.append(col(EnterpriseRow.municipality_code).in_(munis))
        for r in new:
            lat, lon = r.values.get("lat"), r.values.get("lon")
            if lat is not None and lon is not None:
                conds.append(and_(
                    col(EnterpriseRow.lat).between(lat - _BOX_LAT, lat + _BOX_LAT),
                    col(EnterpriseRow.lon).between(lon - _BOX_LON, lon + _BOX_LON)))
        if not conds:
            return []
        stmt = stmt.where(or_(*conds))
    return [Candidate(ref, name, kvk, muni, lat, lon)
            for ref, name, kvk, muni, lat, lon in session.execute(stmt).all()]


def enterprise_duplicates(session: Session, values: dict[str, Any]) -> list[DuplicatePair]:
    """The import's duplicate check for one enterprise created on its own (the API):
    the stored enterprises it likely duplicates, best first."""
    me = Candidate(values["ref"], values["name"], values.get("kvk"),
                   values.get("municipality_code"), values.get("lat"), values.get("lon"),
                   "request")
    record = Record(kind="enterprises", ref=me.ref, location="request", values=values)
    stored = [c for c in _area_candidates(session, [record]) if c.ref != me.ref]
    scan = scan_duplicates([me], stored, keep=KEEP_DUPLICATES)
    return [DuplicatePair.from_match(m, "ask") for m in scan.kept]


def _candidate(r: Record) -> Candidate:
    v = r.values
    return Candidate(r.ref, v["name"], v.get("kvk"), v.get("municipality_code"), v.get("lat"),
                     v.get("lon"), r.location)


# ------------------------------------------------------------------ writing


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) or isinstance(b, datetime):
        return a == b
    if isinstance(a, float | int) and isinstance(b, float | int) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return bool(a == b)


def _apply(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``row``; the fields that changed, as [stored, file]."""
    diff: dict[str, list[Any]] = {}
    for key, value in values.items():
        old = getattr(row, key)
        if not _same(old, value):
            diff[key] = [plain(old), plain(value)]
            setattr(row, key, value)
    return diff


def _hold_back(row: Any, values: dict[str, Any], columns: Sequence[str]) -> dict[str, list[Any]]:
    """Remove ``columns`` from ``values``; those the file would change, as [stored, file]."""
    kept: dict[str, list[Any]] = {}
    for c in columns:
        if c in values:
            value = values.pop(c)
            if not _same(getattr(row, c), value):
                kept[c] = [plain(getattr(row, c)), plain(value)]
    return kept


def _vetting_state(obj: Any) -> tuple[Any, ...]:
    if isinstance(obj, dict):
        return tuple(obj.get(c) for c in VETTING_COLUMNS)
    return tuple(getattr(obj, c) for c in VETTING_COLUMNS)


def _vetting_event(ref: str, values: dict[str, Any], file: str) -> dict[str, Any]:
    on: date | None = values.get("vetted_on")
    decided_at = datetime.combine(on, dtime(12, 0), tzinfo=UTC) if on else utcnow()
    return {"enterprise_ref": ref, "status": values["vetting_status"],
            "valid_until": values.get("vetting_valid_until"),
            # The file's name only: a server path is no business of the reader's. The
            # Dutch words are read back as a message by vetting_flow.event_text.
            "reason": f"{IMPORTED_FROM}{PurePath(file).name}"[:2000],
            "decided_by": (values.get("vetted_by") or f"{IMPORT_OF}{PurePath(file).name}")[:200],
            "decided_at": decided_at}


def _merge_values(rec: Record) -> dict[str, Any]:
    """Only the columns the record actually gives (for merging into another enterprise)."""
    cols: set[str] = set()
    for f in rec.given:
        cols.update(ENTERPRISE_FIELD_COLUMNS.get(f, ()))
    return {k: v for k, v in rec.values.items() if k in cols}


def _with_merged_ref(extra: dict[str, Any] | None, merged: str | None,
                     keep_from: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(extra or {})
    refs = list((keep_from or {}).get("merged_refs", []) or [])
    for r in out.get("merged_refs", []) or []:
        if r not in refs:
            refs.append(r)
    if merged and merged not in refs:
        refs.append(merged)
    if refs:
        out["merged_refs"] = sorted(refs)
    return out


def _full_row(cls: Any, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """All columns of a new row: the model's defaults, then ``values``."""
    row: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if name == "id":
            continue
        if name in values:
            row[name] = values[name]
        elif name in ("created_at", "updated_at"):
            row[name] = now
        elif info.default_factory is not None:
            row[name] = info.default_factory()
        else:
            row[name] = info.default
    return row


def _bulk_insert(session: Session, cls: Any, rows: list[dict[str, Any]]) -> None:
    """Core INSERT in chunks: building ORM objects costs ~10x more at 100k rows."""
    table = cls.__table__
    for i in range(0, len(rows), 2000):
        session.execute(insert(table), rows[i:i + 2000])


def _write_enterprises(session: Session, pf: ParsedFile, plan: _EnterprisePlan,
                       report: FileReport, rows: _Rows) -> None:
    """An existing enterprise's vetting is never changed by an import (vetting changes go
    through the vetting flow, with their own log); a merge keeps the stored name. Both
    are shown in the change as ``kept``."""
    counts = report.counts["enterprises"]
    now = utcnow()
    created: dict[str, dict[str, Any]] = {}  # new rows, inserted at the end
    events: list[dict[str, Any]] = []
    newcomers = set(plan.scan.best)
    kind = "enterprises"

    def log(ref: str, values: dict[str, Any]) -> None:
        events.append(_full_row(VettingEvent, _vetting_event(ref, values, pf.name), now))
        report.vetting_events += 1

    for rec in pf.records["enterprises"]:
        rows.tick()
        target = plan.alias.get(rec.ref)
        if target is not None and target in created:
            # Folded into a newcomer of this same file.
            row_d = created[target]
            values = _merge_values(rec)
            extra_given = values.pop("extra", None)
            row_d.update(values)
            extra = dict(row_d["extra"])
            extra.update(extra_given or {})
            row_d["extra"] = _with_merged_ref(extra, rec.ref, row_d["extra"])
            if "vetting" in rec.given:
                log(target, rec.values)
            counts.merged += 1
            report.add_change(Change(kind, rec.ref, "merged", into=target))
            continue
        if target is not None and target in plan.existing:
            row = plan.existing[target]
            values = _merge_values(rec)
            # A merge (now or of a ref merged earlier) keeps the stored name.
            kept = _hold_back(row, values, (*VETTING_COLUMNS, "name"))
            extra_given = values.pop("extra", None)
            new_extra = dict(row.extra or {})
            new_extra.update(extra_given or {})
            new_extra = _with_merged_ref(new_extra, rec.ref, row.extra)
            diff = _apply(row, values)
            if new_extra != (row.extra or {}):
                diff["extra"] = [plain(row.extra), plain(new_extra)]
                row.extra = new_extra
            if diff:
                row.updated_at = now
                session.add(row)
            # A newcomer folded into another enterprise counts as merged; a ref merged
            # earlier counts as an update/unchanged of its enterprise.
            if rec.ref in newcomers:
                counts.merged += 1
                action = "merged"
            elif diff:
                counts.updated += 1
                action = "changed"
            else:
                counts.unchanged += 1
                action = "unchanged"
            report.add_change(Change(kind, rec.ref, action, diff, kept, into=row.ref))
            continue
        current = plan.existing.get(rec.ref)
        if current is None:
            values = {**rec.values, "extra": _with_merged_ref(rec.values["extra"], None)}
            created[rec.ref] = _full_row(EnterpriseRow, values, now)
            counts.created += 1
            if "vetting" in rec.given and _vetting_state(rec.values) != (
                    "pending", None, None, None):
                log(rec.ref, rec.values)
            report.add_change(Change(kind, rec.ref, "new"))
            continue
        values = dict(rec.values)
        kept = _hold_back(current, values, VETTING_COLUMNS) if "vetting" in rec.given else {}
        for c in VETTING_COLUMNS:  # absent vetting keeps the current one
            values.pop(c, None)
        values["extra"] = _with_merged_ref(values["extra"], None, current.extra)
        diff = _apply(current, values)
        if diff:
            current.updated_at = now
            session.add(current)
            counts.updated += 1
        else:
            counts.unchanged += 1
        report.add_change(Change(kind, rec.ref, "changed" if diff else "unchanged", diff, kept))
    session.flush()
    _bulk_insert(session, EnterpriseRow, list(created.values()))
    _bulk_insert(session, VettingEvent, events)


def _write_plain(session: Session, pf: ParsedFile, kind: str, report: FileReport,
                 rows: _Rows) -> None:
    """A record whose ref is stored under another owner (another buyer's tender, another
    firm's obligation) is refused, never overwritten."""
    recs = pf.records[kind]
    if not recs:
        return
    cls = ROW_CLASSES[kind]
    existing = _rows_by_ref(session, cls, [r.ref for r in recs])
    counts = report.counts[kind]
    owner = OWNER_FIELD.get(kind)
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    for rec in recs:
        rows.tick()
        row = existing.get(rec.ref)
        if row is None:
            new_rows.append(_full_row(cls, rec.values, now))
            counts.created += 1
            report.add_change(Change(kind, rec.ref, "new"))
            continue
        if owner and not _same(getattr(row, owner), rec.values.get(owner)):
            report.add_change(Change(
                kind, rec.ref, "refused",
                {owner: [getattr(row, owner), rec.values.get(owner)]},
                reason=msg("{ref} hoort bij {owner}, niet bij {other}: inlezen overschrijft "
                          "nooit het record van een ander ({field})", ref=rec.ref,
                          owner=str(getattr(row, owner)), other=str(rec.values.get(owner)),
                          field=owner)))
            continue
        diff = _apply(row, rec.values)
        if diff:
            row.updated_at = now
            session.add(row)
            counts.updated += 1
        else:
            counts.unchanged += 1
        report.add_change(Change(kind, rec.ref, "changed" if diff else "unchanged", diff))
    session.flush()
    _bulk_insert(session, cls, new_rows)


def _write(session: Session, pf: ParsedFile, plan: _EnterprisePlan, report: FileReport,
           rows: _Rows) -> None:
    _write_enterprises(session, pf, plan, report, rows)
    for kind in ("tenders", "challenges", "obligations"):
        _write_plain(session, pf, kind, report, rows)
    session.flush()

"""Spend analysis of a firm's purchase ledger (issue #15): import, classify, recognise
social enterprises already supplying, find the addressable spend, turn switches into plan
rows.

* :func:`import_ledger` — one file, all or nothing: parsed by ``api.importers.ledger`` with
  the mapping given, else the firm's remembered one, else the recognised one; refused whole
  (``LedgerRefused`` with every problem) when any line cannot be read; the same file twice
  is the same ledger (idempotent by content hash). Lines are classified by
  ``matcher.spend.SpendClassifier`` fitted on the firm's and connectors' corrections.
* :func:`correct` — a person's CPV code for a line, remembered and applied to every line
  of that supplier in the firm's ledgers.
* :func:`analyse` — spend by category, addressable share, registry suppliers with the
  credit their spend already earns, addressable groups (category x supplier) with the
  engine's ranked vetted enterprises with free capacity and the credit of switching, and
  the categories no social enterprise takes (energy, rent, insurance, licences, ...).
* :func:`plan_switches` — chosen switches become purchase rows of the obligation's plan
  through ``api.services.planning.save_plan`` (its checks, every row or none).
* :func:`delete_ledger` — the ledger and every line.

Credit is ``matcher.valuation.credit_for`` under the obligation's policy
(``api.services.obligation_terms``): the one credit calculation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Table, delete
from sqlmodel import Session, col, select

from api.clock import today, utcnow
from api.errors import DomainError, Invalid, NotFound
from api.i18n import translate
from api.importers.ledger import (
    FIELDS,
    LedgerFileError,
    LedgerProblem,
    ParsedLedger,
    parse_ledger,
)
from api.labels import LEDGER_PROBLEM_NL
from api.messages import msgn
from api.tables import (
    AllocationRow,
    EnterpriseRow,
    LedgerAccess,
    LedgerLineRow,
    LedgerMapping,
    LedgerRow,
    ObligationRow,
    SpendCorrection,
    User,
)
from matcher.capacity import CapacityState
from matcher.plan import supplies
from matcher.query import Query, from_obligation
from matcher.refdata import cpv_label, cpv_vocabulary, resolve_municipality
from matcher.spend import (
    SpendClassifier,
    SpendLabel,
    SpendLine,
    addressable,
    fold_supplier,
    non_addressable_reason,
)
from matcher.valuation import credit_for

Progress = Callable[[str, int, int], None]
LINE_TABLE: Table = LedgerLineRow.__table__  # type: ignore[attr-defined]
# What the analysis reads of each line (not whole ORM objects: 100k of them cost seconds).
ANALYSIS_COLUMNS = ("id", "row", "supplier", "supplier_key", "description", "account",
                    "amount_eur", "currency", "amount_currency", "booked_on", "cpv",
                    "confidence", "source", "needs_review", "enterprise_ref")
REVIEW_THRESHOLD = 0.6
FUZZY_NAME_CUTOFF = 88  # rapidfuzz token_sort_ratio on folded names, same municipality
SWITCH_TOP_K = 3
# A group of fewer lines is a one-off purchase, not a pattern to move.
RECURRING_MIN_LINES = 2


class LedgerRefused(Invalid):
    """The file is refused whole; ``problems`` lists every one with its row and column."""

    def __init__(self, filename: str, problems: Sequence[LedgerProblem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("file", "{filename}: niet ingelezen, {problems} (niets opgeslagen).",
                         filename=filename,
                         problems=msgn("{n} probleem", "{n} problemen", len(errors)))
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportResult:
    ledger: LedgerRow
    lines: int
    notes: list[dict[str, Any]]
    review: int
    already_imported: bool = False


def problem_dict(p: LedgerProblem, lang: str | None = None) -> dict[str, Any]:
    """A problem as stored (``lang=None``: the parser's English ``message``, the pages
    render ``code``) or as an API answer in ``lang`` (the pages' Dutch text by its code)."""
    message = p.message if lang is None else problem_message(p.code, p.params, p.message, lang)
    return {"row": p.row, "column": p.column, "code": p.code, "severity": p.severity,
            "message": message, "params": dict(p.params)}


def problem_message(code: str, params: Mapping[str, Any], english: str, lang: str) -> str:
    """A problem's words in ``lang`` by its code (the pages' Dutch text, translated); a
    code without a text, or whose text needs a value the problem lacks, keeps the parser's
    ``english``."""
    if code not in LEDGER_PROBLEM_NL:
        return english
    try:
        return translate(LEDGER_PROBLEM_NL[code], lang, **params)
    except (KeyError, IndexError, ValueError):
        return english


# ---------------------------------------------------------------- mapping


def remembered_mapping(session: Session, firm: str) -> dict[str, str]:
    row = session.exec(select(LedgerMapping).where(LedgerMapping.firm == firm)).first()
    return dict(row.mapping) if row else {}


def remember_mapping(session: Session, firm: str, mapping: Mapping[str, str]) -> None:
    row = session.exec(select(LedgerMapping).where(LedgerMapping.firm == firm)).first()
    if row is None:
        row = LedgerMapping(firm=firm)
    row.mapping = {k: v for k, v in mapping.items() if k in FIELDS and v}
    row.updated_at = utcnow()
    session.add(row)


def check_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise Invalid("mapping", "Onbekend veld {name} in de kolomindeling; velden: "
                      "{fields}.", name=unknown[0], fields=", ".join(FIELDS))
    return {k: str(v) for k, v in mapping.items()}


# ---------------------------------------------------------------- classification


def classifier_for(session: Session, firm: str) -> SpendClassifier:
    """Fitted on the firm's own corrections and every connector's: connectors correct
    for many firms, so what they teach holds across ledgers."""
    rows = session.exec(select(SpendCorrection).where(
        (SpendCorrection.firm == firm) | (SpendCorrection.corrected_by_role == "connector"))
        .order_by(col(SpendCorrection.corrected_at), col(SpendCorrection.id))).all()
    X = [SpendLine(r.supplier_key, r.description, r.account, r.kvk) for r in rows]
    return SpendClassifier(review_threshold=REVIEW_THRESHOLD).fit(X, [r.cpv for r in rows])


@dataclass
class _Registry:
    by_kvk: dict[str, EnterpriseRow] = field(default_factory=dict)
    by_place: dict[str, list[tuple[str, EnterpriseRow]]] = field(default_factory=dict)
    by_name: dict[str, EnterpriseRow] = field(default_factory=dict)


def _registry(session: Session) -> _Registry:
    reg = _Registry()
    for e in session.exec(select(EnterpriseRow)).all():
        if e.kvk:
            reg.by_kvk[e.kvk] = e
        key = fold_supplier(e.name)
        reg.by_name.setdefault(key, e)
        if e.municipality_code:
            reg.by_place.setdefault(e.municipality_code, []).append((key, e))
    return reg


def recognise(reg: _Registry, supplier: str, kvk: str | None, place: str) -> EnterpriseRow | None:
    """The registry's enterprise this supplier is: same KvK number, or a fuzzy name in the
    same municipality (without a place only the same folded name)."""
    if kvk and kvk in reg.by_kvk:
        return reg.by_kvk[kvk]
    key = fold_supplier(supplier)
    muni = resolve_municipality(place) if place else None
    if muni is None:
        return reg.by_name.get(key) if not place else None
    pool = reg.by_place.get(muni.code, [])
    if not pool:
        return None
    hit = process.extractOne(key, [k for k, _ in pool], scorer=fuzz.token_sort_ratio,
                             score_cutoff=FUZZY_NAME_CUTOFF)
    return pool[hit[2]][1] if hit else None


# ---------------------------------------------------------------- import


def check_obligation(session: Session, firm: str, obligation_ref: str) -> None:
    """The obligation a ledger is analysed against must be the firm's own."""
    ob = session.exec(select(ObligationRow).where(ObligationRow.ref == obligation_ref)).first()
    if ob is None or ob.firm != firm:
        raise NotFound("obligation", "Onbekende verplichting {ref}.", ref=obligation_ref)


def import_ledger(session: Session, firm: str, data: bytes, filename: str, uploaded_by: str,
                  *, mapping: Mapping[str, str] | None = None,
                  obligation_ref: str | None = None,
                  progress: Progress | None = None) -> ImportResult:
    firm = (firm or "").strip()
    if not firm:
        raise Invalid("firm", "Een grootboek hoort bij een bedrijf; geef de bedrijfsnaam.")
    if obligation_ref:
        check_obligation(session, firm, obligation_ref)
    step = progress or (lambda stage, done, total: None)
    digest = hashlib.sha256(data).hexdigest()
    same = session.exec(select(LedgerRow).where(LedgerRow.firm == firm,
                                                LedgerRow.sha256 == digest)).first()
    if same is not None and mapping is None:
        n = len(session.exec(select(LedgerLineRow.id).where(
            LedgerLineRow.ledger_id == same.id)).all())
        review = len(session.exec(select(LedgerLineRow.id).where(
            LedgerLineRow.ledger_id == same.id, col(LedgerLineRow.needs_review))).all())
        return ImportResult(same, n, list(same.notes), review, already_imported=True)
    step("parse", 0, 1)
    parsed = _parse(session, firm, data, filename, mapping, progress=step)
    if not parsed.ok:
        raise LedgerRefused(filename, parsed.problems)
    step("parse", len(parsed.lines), len(parsed.lines))
    lines = parsed.lines
    step("classify", 0, len(lines))
    clf = classifier_for(session, firm)
    labels = clf.classify([SpendLine(ln.supplier, ln.description, ln.account, ln.kvk)
                           for ln in lines])
    step("classify", len(lines), len(lines))
    reg = _registry(session)
    seen: dict[tuple[str, str | None, str], EnterpriseRow | None] = {}
    ledger = LedgerRow(firm=firm, filename=filename[:255], sha256=digest,
                       mapping=dict(parsed.mapping),
                       notes=[problem_dict(p) for p in parsed.notes],
                       obligation_ref=obligation_ref, uploaded_by=uploaded_by)
    if same is not None:  # the same file with another mapping replaces the earlier import
        _delete_lines(session, same)
        session.delete(same)
        session.flush()
    session.add(ledger)
    session.flush()
    rows: list[dict[str, Any]] = []
    review = 0
    for ln, lab in zip(lines, labels, strict=True):
        key = (ln.supplier, ln.kvk, ln.place)
        if key not in seen:
            seen[key] = recognise(reg, ln.supplier, ln.kvk, ln.place)
        ent = seen[key]
        if ent is not None and lab.needs_review and ent.cpv:
            lab = SpendLabel(str(ent.cpv[0]), 0.9, "registry", False)
        review += lab.needs_review
        rows.append({"ledger_id": ledger.id, "row": ln.row, "supplier": ln.supplier[:300],
                     "supplier_key": fold_supplier(ln.supplier)[:300],
                     "description": ln.description, "account": ln.account[:200],
                     "amount_eur": ln.amount_eur, "currency": ln.currency[:3],
                     "amount_currency": ln.amount_currency, "booked_on": ln.booked_on,
                     "kvk": ln.kvk, "place": ln.place[:100], "cpv": lab.cpv,
                     "confidence": lab.confidence, "source": lab.source,
                     "needs_review": lab.needs_review,
                     "enterprise_ref": ent.ref if ent is not None else None})
    _insert_lines(session, rows, step)
    remember_mapping(session, firm, parsed.mapping)
    session.commit()
    session.refresh(ledger)
    return ImportResult(ledger, len(rows), list(ledger.notes), review)


def _parse(session: Session, firm: str, data: bytes, filename: str,
           mapping: Mapping[str, str] | None, *, max_rows: int | None = None,
           progress: Progress | None = None) -> ParsedLedger:
    """The file read with the mapping given, else the recognised one, else (when that
    leaves problems) the firm's remembered one."""
    given = check_mapping(mapping) if mapping else None
    try:
        parsed = parse_ledger(data, filename, given, max_rows=max_rows, progress=progress)
        if given is None:
            remembered = remembered_mapping(session, firm)
            if remembered and not parsed.ok and all(
                    h in parsed.header for h in remembered.values()):
                parsed = parse_ledger(data, filename, remembered, max_rows=max_rows,
                                      progress=progress)
    except LedgerFileError as exc:
        raise Invalid("file", "{filename}: {error}", filename=filename,
                      error=exc.message) from None
    return parsed


# The page's quick look before the background job: the columns and the first rows.
CHECK_ROWS = 200


def check_upload(session: Session, firm: str, data: bytes, filename: str,
                 mapping: Mapping[str, str] | None = None) -> None:
    """Refuse at once (``LedgerRefused``, ``Invalid``) a file whose columns cannot be
    mapped or whose first rows cannot be read, so the page can ask for the mapping before
    the whole file goes to a background job (``run_job``)."""
    parsed = _parse(session, firm, data, filename, mapping, max_rows=CHECK_ROWS)
    if not parsed.ok:
        raise LedgerRefused(filename, parsed.problems)


def run_job(session: Session, files: Sequence[tuple[str, bytes]], params: Mapping[str, Any],
            progress: Progress) -> dict[str, Any]:
    """The ledger page's upload as a background job (``api.services.import_jobs``, format
    "ledger"): ``import_ledger`` with the job's params; a refused file ends the job with
    the message and every problem (nothing written)."""
    (name, data), = files
    try:
        res = import_ledger(session, str(params["firm"]), data, name,
                            str(params.get("uploaded_by") or ""),
                            mapping=params.get("mapping") or None,
                            obligation_ref=params.get("obligation") or None, progress=progress)
    except LedgerRefused as exc:
        session.rollback()
        errors = [p for p in exc.problems if p.severity == "error"]
        # The message as stored JSON (api.messages): its values may be messages too.
        return {"error": str(exc), "filename": name, "message": exc.as_message().to_json(),
                "problems": [problem_dict(p) for p in errors]}
    except DomainError as exc:
        session.rollback()
        return {"error": str(exc), "filename": name, "message": exc.as_message().to_json(),
                "problems": []}
    return {"ledger": res.ledger.id, "filename": name, "lines": res.lines,
            "review": res.review, "notes": len(res.notes),
            "already_imported": res.already_imported}


def _insert_lines(session: Session, rows: list[dict[str, Any]], step: Progress) -> None:
    """The driver's executemany with plain tuples: SQLAlchemy's per-row parameter
    processing costs about 10 s at 100,000 lines, the driver under 2 s (same transaction)."""
    if not rows:
        return
    conn = session.connection()
    cols = list(rows[0])
    style = conn.dialect.paramstyle
    marks = ", ".join("?" if style == "qmark" else "%s" for _ in cols)
    sql = f"INSERT INTO {LINE_TABLE.name} ({', '.join(cols)}) VALUES ({marks})"
    chunk = 10_000
    for start in range(0, len(rows), chunk):
        part = [tuple(r[c] for c in cols) for r in rows[start:start + chunk]]
        conn.exec_driver_sql(sql, part)  # type: ignore[arg-type]
        step("store", min(start + chunk, len(rows)), len(rows))


# ---------------------------------------------------------------- reading, deleting


def get_ledger(session: Session, ledger_id: int) -> LedgerRow:
    row = session.get(LedgerRow, ledger_id)
    if row is None:
        raise NotFound(None, "Onbekend grootboek {id}.", id=ledger_id)
    return row


def ledgers_of(session: Session, firms: Collection[str] | None) -> list[LedgerRow]:
    """The ledgers of these firms, newest first (``None``: every firm's, for the
    operator's CLI without ``--as``). Who may see which firm's: ``api.access``."""
    stmt = select(LedgerRow).order_by(col(LedgerRow.uploaded_at).desc(), col(LedgerRow.id).desc())
    if firms is not None:
        stmt = stmt.where(col(LedgerRow.firm).in_(list(firms)))
    return list(session.exec(stmt).all())


def lines_of(session: Session, ledger: LedgerRow) -> list[LedgerLineRow]:
    return list(session.exec(select(LedgerLineRow).where(LedgerLineRow.ledger_id == ledger.id)
                             .order_by(col(LedgerLineRow.row))).all())


def _delete_lines(session: Session, ledger: LedgerRow) -> int:
    result = session.execute(delete(LedgerLineRow).where(
        col(LedgerLineRow.ledger_id) == ledger.id))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_ledger(session: Session, ledger: LedgerRow) -> int:
    """Delete the ledger and every line of it; returns the number of lines deleted."""
    n = _delete_lines(session, ledger)
    session.delete(ledger)
    session.commit()
    return n


# ---------------------------------------------------------------- access grants


@dataclass(frozen=True)
class Grant:
    """A firm's grant as shown: to one connector (``email``) or to an organisation."""

    id: int
    firm: str
    email: str | None  # the connector's, when granted to one connector
    name: str | None
    organisation: str | None  # when granted to every connector of an organisation
    granted_by: str
    granted_at: Any


def grants_of(session: Session, firms: Collection[str] | None) -> list[Grant]:
    """The grants of these firms (``None``: every firm's, for admins), by firm."""
    stmt = select(LedgerAccess).order_by(col(LedgerAccess.firm), col(LedgerAccess.id))
    if firms is not None:
        stmt = stmt.where(col(LedgerAccess.firm).in_(list(firms)))
    rows = list(session.exec(stmt).all())
    ids = {r.connector_id for r in rows if r.connector_id is not None}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))} if ids \
        else {}
    out = []
    for r in rows:
        u = users.get(r.connector_id) if r.connector_id is not None else None
        out.append(Grant(r.id or 0, r.firm, u.email if u else None, u.name if u else None,
                         r.connector_org, r.granted_by, r.granted_at))
    return out


def connector_choices(session: Session) -> tuple[list[User], list[str]]:
    """The connectors a firm can grant access to, and their organisations."""
    users = list(session.exec(select(User).where(User.role == "connector")
                              .order_by(col(User.email))).all())
    orgs = sorted({(u.organisation or "").strip() for u in users} - {""})
    return users, orgs


def grant_access(session: Session, firm: str, granted_by: str, *,
                 connector: str | None = None, organisation: str | None = None) -> LedgerAccess:
    """The firm lets one connector (by e-mail address) or every connector of an
    organisation see and work on its ledgers. Granting twice keeps the one grant."""
    connector, organisation = (connector or "").strip(), (organisation or "").strip()
    if bool(connector) == bool(organisation):
        raise Invalid("connector", "Kies één verbinder of één organisatie van verbinders.")
    stmt = select(LedgerAccess).where(LedgerAccess.firm == firm)
    if connector:
        user = session.exec(select(User).where(User.email == connector)).first()
        if user is None or user.role != "connector":
            # Not found (404 in the API): the grant names a connector that is not there.
            raise NotFound("connector", "{email} is geen verbinder.", email=connector)
        stmt = stmt.where(LedgerAccess.connector_id == user.id)
        row = LedgerAccess(firm=firm, connector_id=user.id, granted_by=granted_by)
    else:
        if organisation not in connector_choices(session)[1]:
            raise NotFound("organisation", "Geen verbinder werkt bij {organisation}.",
                          organisation=organisation)
        stmt = stmt.where(LedgerAccess.connector_org == organisation)
        row = LedgerAccess(firm=firm, connector_org=organisation, granted_by=granted_by)
    same = session.exec(stmt).first()
    if same is not None:
        return same
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def revoke_access(session: Session, firm: str, grant_id: int) -> None:
    """The firm withdraws a grant: from now on that connector (or organisation) no longer
    sees the firm's ledgers."""
    row = session.get(LedgerAccess, grant_id)
    if row is None or row.firm != firm:
        raise NotFound("grant", "Onbekende toegang {id}.", id=grant_id)
    session.delete(row)
    session.commit()


# ---------------------------------------------------------------- corrections


def correct(session: Session, ledger: LedgerRow, line_id: int, cpv: str, user: str,
            role: str) -> int:
    """Remember ``cpv`` for the line's supplier and apply it to that supplier's lines in
    every ledger of the firm; returns how many lines now carry it."""
    cpv = (cpv or "").strip()
    if cpv not in cpv_vocabulary():
        raise Invalid("cpv", "CPV-code {cpv} staat niet in de CPV-2008-woordenlijst.", cpv=cpv)
    line = session.get(LedgerLineRow, line_id)
    if line is None or line.ledger_id != ledger.id:
        raise NotFound("line", "Onbekende regel {id}.", id=line_id)
    session.add(SpendCorrection(firm=ledger.firm, supplier_key=line.supplier_key, kvk=line.kvk,
                                description=line.description, account=line.account, cpv=cpv,
                                corrected_by=user, corrected_by_role=role))
    ids = select(LedgerRow.id).where(LedgerRow.firm == ledger.firm)
    targets = session.exec(select(LedgerLineRow).where(
        col(LedgerLineRow.ledger_id).in_(ids),
        LedgerLineRow.supplier_key == line.supplier_key)).all()
    for t in targets:
        t.cpv, t.confidence, t.source, t.needs_review = cpv, 1.0, "correction", False
        session.add(t)
    session.commit()
    return len(targets)


# ---------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Category:
    cpv: str
    label_nl: str
    label_en: str
    spend_eur: float
    lines: int
    addressable: bool
    reason: str | None  # why not addressable (matcher.spend.NON_ADDRESSABLE)


@dataclass(frozen=True)
class Option:
    enterprise: str
    name: str
    score: float
    free_purchase_eur: float  # per year
    credit_eur: float | None  # of moving the group's yearly spend (up to its free capacity)
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class Group:
    cpv: str
    label_nl: str
    label_en: str
    supplier: str
    spend_eur: float
    lines: int
    options: list[Option]


@dataclass(frozen=True)
class RegistrySupplier:
    enterprise: str
    name: str
    spend_eur: float
    credit_eur: float | None


@dataclass
class Analysis:
    ledger: LedgerRow
    total_eur: float
    addressable_eur: float
    review_eur: float
    lines: int
    review_lines: int
    foreign_lines: int  # in another currency with no ECB rate for their month: not counted
    categories: list[Category]
    groups: list[Group]
    registry: list[RegistrySupplier]
    review: list[Any]  # lines (ANALYSIS_COLUMNS), biggest first
    obligation: str | None
    policy: str | None
    due_eur: float | None
    note: str | None = None  # why credits are not shown (no obligation, no policy)
    converted_lines: int = 0  # in another currency, converted at the ECB's monthly rate
    converted_eur: float = 0.0

    @property
    def addressable_share(self) -> float:
        return self.addressable_eur / self.total_eur if self.total_eur > 0 else 0.0

    @property
    def switch_credit_eur(self) -> float:
        return round(sum(g.options[0].credit_eur or 0.0 for g in self.groups if g.options), 2)


def _obligation(session: Session, ledger: LedgerRow) -> ObligationRow | None:
    if ledger.obligation_ref:
        return session.exec(select(ObligationRow).where(
            ObligationRow.ref == ledger.obligation_ref)).first()
    return session.exec(select(ObligationRow).where(
        ObligationRow.firm == ledger.firm, ObligationRow.status == "open")
        .order_by(col(ObligationRow.ref))).first()


def analyse(session: Session, ledger: LedgerRow, *, on: date | None = None,
            review_limit: int = 50) -> Analysis:
    from api.services.matching import index_with_committed
    from api.services.obligation_terms import ObligationTerms, obligation_terms
    from api.services.weights import active_weights
    from matcher.rank import rank_query, to_matches

    on = on or today()
    lines: list[Any] = list(session.execute(
        select(*[LINE_TABLE.c[name] for name in ANALYSIS_COLUMNS])
        .where(LINE_TABLE.c.ledger_id == ledger.id).order_by(LINE_TABLE.c.row)).all())
    by_cat: dict[str, list[Any]] = defaultdict(list)
    by_group: dict[tuple[str, str], list[Any]] = defaultdict(list)
    total = addr = review_eur = 0.0
    for ln in lines:
        if ln.amount_eur is None:
            continue
        total += ln.amount_eur
        by_cat[ln.cpv].append(ln)
        if ln.needs_review:
            review_eur += ln.amount_eur
        elif ln.cpv and addressable(ln.cpv):
            addr += ln.amount_eur
            if ln.enterprise_ref is None:
                by_group[(ln.cpv, ln.supplier_key)].append(ln)
    cats = sorted((Category(c, cpv_label(c, "nl") if c else "", cpv_label(c, "en") if c else "",
                            round(sum(x.amount_eur or 0 for x in ls), 2), len(ls),
                            bool(c) and addressable(c),
                            non_addressable_reason(c) if c else None)
                   for c, ls in by_cat.items()), key=lambda c: -c.spend_eur)
    ob_row = _obligation(session, ledger)
    terms: ObligationTerms | None = None
    note = None
    if ob_row is None:
        note = "no_obligation"
    else:
        try:
            terms = obligation_terms(session, ob_row, on)
        except Invalid:
            note = "no_policy"
    # Registry suppliers already supplying, with the credit that spend earns.
    reg_spend: dict[str, float] = defaultdict(float)
    for ln in lines:
        if ln.enterprise_ref and ln.amount_eur is not None:
            reg_spend[ln.enterprise_ref] += ln.amount_eur
    ents = {e.ref: e for e in session.exec(select(EnterpriseRow).where(
        col(EnterpriseRow.ref).in_(list(reg_spend)))).all()} if reg_spend else {}
    from api.convert import enterprise_from_row

    registry = []
    for ref, spend in sorted(reg_spend.items(), key=lambda kv: -kv[1]):
        e = ents.get(ref)
        if e is None:
            continue
        credit = (credit_for(terms.policy, "purchase", on, amount_eur=max(spend, 0.0),
                             enterprise=enterprise_from_row(e)) if terms else None)
        registry.append(RegistrySupplier(ref, e.name, round(spend, 2), credit))
    # Addressable groups, biggest first, each with the engine's ranked enterprises.
    groups: list[Group] = []
    candidates = sorted(((k, ls) for k, ls in by_group.items() if len(ls) >= RECURRING_MIN_LINES
                         and sum(x.amount_eur or 0 for x in ls) > 0),
                        key=lambda kv: -sum(x.amount_eur or 0 for x in kv[1]))
    if candidates:
        committed = terms.committed.by_enterprise if terms else {}
        index = index_with_committed(session, committed, on)
        weights = active_weights(session)
        base = from_obligation(terms.obligation) if terms else Query("", "obligation", "")
        years = _years(lines)
        ranked: dict[str, list[Any]] = {}
        # Enterprises a connector rejected for this obligation are not offered as a switch.
        from api.services.matching import rejected_refs

        rejected = rejected_refs(session, "obligation", ob_row.ref) if ob_row else frozenset()
        for (cpv, _sup), ls in candidates:
            spend = round(sum(x.amount_eur or 0 for x in ls), 2)
            if cpv not in ranked:
                q = replace(base, ref=f"ledger-{ledger.id}-{cpv}", text=cpv_label(cpv, "nl"),
                            cpv=(cpv,), amount_eur=spend / years)
                ranked[cpv] = to_matches(index, rank_query(index, q, weights, top_k=20))
            opts: list[Option] = []
            for m in ranked[cpv]:
                ent = index.enterprise(m.ref)
                if m.ref in rejected or not supplies(ent.cpv, (cpv,)):
                    continue
                state = CapacityState.of(ent.capacity, committed.get(ent.ref))
                free = state.free_purchase_eur
                if free <= 0:
                    continue
                credit = (credit_for(terms.policy, "purchase", on,
                                     amount_eur=min(spend / years, free), enterprise=ent)
                          if terms else None)
                opts.append(Option(ent.ref, ent.name, round(m.score, 4), round(free, 2), credit,
                                   [r.as_dict() for r in m.reasons]))
                if len(opts) >= SWITCH_TOP_K:
                    break
            groups.append(Group(cpv, cpv_label(cpv, "nl"), cpv_label(cpv, "en"), ls[0].supplier,
                                spend, len(ls), opts))
    review = sorted((ln for ln in lines if ln.needs_review),
                    key=lambda ln: -abs(ln.amount_eur or ln.amount_currency or 0))
    return Analysis(
        ledger=ledger, total_eur=round(total, 2), addressable_eur=round(addr, 2),
        review_eur=round(review_eur, 2), lines=len(lines), review_lines=len(review),
        foreign_lines=sum(1 for ln in lines if ln.amount_eur is None), categories=cats,
        converted_lines=sum(1 for ln in lines if ln.currency != "EUR"
                            and ln.amount_eur is not None),
        converted_eur=round(sum(ln.amount_eur for ln in lines if ln.currency != "EUR"
                                and ln.amount_eur is not None), 2),
        groups=groups, registry=registry, review=review[:review_limit],
        obligation=ob_row.ref if ob_row else None,
        policy=terms.policy.name if terms else None,
        due_eur=terms.due_eur if terms else None, note=note)


def _years(lines: Iterable[Any]) -> float:
    """The ledger's span in years (at least one): spend per year is what a switch moves."""
    days = [ln.booked_on for ln in lines]
    if not days:
        return 1.0
    return max(1.0, ((max(days) - min(days)).days + 1) / 365.0)


# ---------------------------------------------------------------- switches -> plan


@dataclass(frozen=True)
class Switch:
    enterprise: str
    amount_eur: float  # yearly invoice euros moved to the enterprise


@dataclass(frozen=True)
class SwitchResult:
    obligation: str
    rows: list[AllocationRow]
    credit_eur: float  # of the new rows
    planned_credit_eur: float  # every planned and committed row of the obligation
    amount_eur: float  # what the obligation asks

    @property
    def coverage(self) -> float:
        return self.planned_credit_eur / self.amount_eur if self.amount_eur > 0 else 0.0


def plan_switches(session: Session, ledger: LedgerRow, switches: Sequence[Switch],
                  *, on: date | None = None) -> SwitchResult:
    """Add the switches as purchase rows to the obligation's plan (its planned rows kept),
    saved by ``api.services.planning.save_plan``: every row, or none with the reasons."""
    from api.convert import enterprise_from_row
    from api.services.obligation_terms import obligation_terms
    from api.services.planning import save_plan

    on = on or today()
    if not switches:
        raise Invalid("switches", "Kies ten minste één overstap.")
    ob_row = _obligation(session, ledger)
    if ob_row is None:
        raise Invalid("obligation", "Dit bedrijf heeft geen open verplichting om overstappen "
                      "in te plannen.")
    terms = obligation_terms(session, ob_row, on)
    ents = {e.ref: e for e in session.exec(select(EnterpriseRow).where(
        col(EnterpriseRow.ref).in_([s.enterprise for s in switches]))).all()}
    rows: list[dict[str, Any]] = []
    for a in session.exec(select(AllocationRow).where(
            AllocationRow.obligation_ref == ob_row.ref, AllocationRow.status == "planned")):
        rows.append({"enterprise": a.enterprise_ref, "kind": a.kind, "amount_eur": a.amount_eur,
                     "credit_eur": a.credit_eur, "placements": a.placements, "block": a.block})
    new_credit = 0.0
    for s in switches:
        if s.amount_eur <= 0:
            raise Invalid("amount_eur", "Het bedrag van een overstap moet groter dan nul zijn.")
        e = ents.get(s.enterprise)
        if e is None:
            raise NotFound("enterprise", "Onbekende onderneming {ref}.", ref=s.enterprise)
        # Over the obligation's term, as every plan row (api.services.planning).
        amount = round(s.amount_eur * terms.years, 2)
        credit = credit_for(terms.policy, "purchase", on, amount_eur=amount,
                            enterprise=enterprise_from_row(e))
        new_credit += credit
        rows.append({"enterprise": s.enterprise, "kind": "purchase", "amount_eur": amount,
                     "credit_eur": credit, "placements": 0, "block": None})
    saved = save_plan(session, ob_row.ref, rows)
    planned = sum(a.credit_eur for a in session.exec(select(AllocationRow).where(
        AllocationRow.obligation_ref == ob_row.ref)).all())
    return SwitchResult(ob_row.ref, saved, round(new_credit, 2), round(planned, 2),
                        float(terms.obligation.amount_eur))


# ---------------------------------------------------------------- export


EXPORT_COLUMNS = ("row", "date", "supplier", "kvk", "description", "account", "amount_eur",
                  "currency", "amount_currency", "cpv", "cpv_label", "confidence", "source",
                  "needs_review", "addressable", "enterprise")


def export_records(session: Session, ledger: LedgerRow, lang: str = "nl"
                   ) -> list[dict[str, Any]]:
    """The classified lines with their values as numbers, dates and booleans (the web's
    spreadsheet CSV formats them per language, ``api/web/csv_export.py``), and the name of
    the registry enterprise beside its reference."""
    lines = lines_of(session, ledger)
    names = dict(session.exec(select(EnterpriseRow.ref, EnterpriseRow.name).where(
        col(EnterpriseRow.ref).in_({ln.enterprise_ref for ln in lines if ln.enterprise_ref}
                                   or {""}))).all())
    return [{"row": ln.row, "date": ln.booked_on, "supplier": ln.supplier, "kvk": ln.kvk,
             "description": ln.description, "account": ln.account,
             "amount_eur": ln.amount_eur, "currency": ln.currency,
             "amount_currency": ln.amount_currency, "cpv": ln.cpv,
             "cpv_label": cpv_label(ln.cpv, lang) if ln.cpv else None,
             "confidence": round(ln.confidence, 2), "source": ln.source,
             "needs_review": bool(ln.needs_review),
             "addressable": bool(ln.cpv) and addressable(ln.cpv),
             "enterprise": ln.enterprise_ref, "enterprise_name": names.get(ln.enterprise_ref or "")}
            for ln in lines]


def export_rows(session: Session, ledger: LedgerRow, lang: str = "nl") -> list[list[Any]]:
    """The machine CSV of ``sroi ledger export``: English keys, points, 0/1."""
    out: list[list[Any]] = []
    for r in export_records(session, ledger, lang):
        out.append([r["row"], r["date"].isoformat(), r["supplier"], r["kvk"] or "",
                    r["description"], r["account"],
                    "" if r["amount_eur"] is None else f"{r['amount_eur']:.2f}", r["currency"],
                    "" if r["amount_currency"] is None else f"{r['amount_currency']:.2f}",
                    r["cpv"], r["cpv_label"] or "", f"{r['confidence']:.2f}", r["source"],
                    int(r["needs_review"]), int(r["addressable"]), r["enterprise"] or ""])
    return out

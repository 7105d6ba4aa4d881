"""SQLModel tables: the store. Request/response schemas live in ``api/schemas.py``.

Entities are keyed by their external ``ref`` (the interchange format's stable
identifier) so imports are idempotent and links survive export/import round
trips. List-valued fields are JSON columns: they are read whole, never queried
by element in SQL (search goes through the engine's index).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from api.append_only import trigger_statements
from api.clock import utcnow


def _empty_list() -> list[Any]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


# Plain functions, not the builtins ``list``/``dict``: pydantic inspects every default
# factory's signature each time a row is built, and a builtin's signature is parsed from
# text (about 0.6 ms per factory, two thirds of building a row; issue #13 item 9).
def json_list() -> Any:
    return Field(default_factory=_empty_list, sa_column=Column(JSON, nullable=False))


def json_dict() -> Any:
    return Field(default_factory=_empty_dict, sa_column=Column(JSON, nullable=False))


class EnterpriseRow(SQLModel, table=True):
    __tablename__ = "enterprise"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True, max_length=100)
    name: str = Field(index=True, max_length=300)
    kvk: str | None = Field(default=None, index=True, max_length=8)
    description: str = ""
    cpv: list[str] = json_list()
    municipality_code: str | None = Field(default=None, index=True, max_length=6)
    postcode: str | None = Field(default=None, max_length=7)
    lat: float
    lon: float
    service_radius_km: float = 30.0
    target_groups: list[str] = json_list()
    themes: list[str] = json_list()
    placements_per_year: int = 0
    purchasing_eur_per_year: float = 0.0
    target_group_share: float | None = None
    trade_income_share: float | None = None
    # [{"scheme": "PSO", "level": "2", "valid_until": "2027-01-31"}]
    certifications: list[dict[str, Any]] = json_list()
    vetting_status: str = Field(default="pending", index=True, max_length=20)
    vetted_by: str | None = None
    vetted_on: date | None = None
    vetting_valid_until: date | None = None
    # Contact details (interchange ``contact``), shown on the enterprise page; checked by
    # the importer (api.importers.interchange: e-mail, phone and website forms).
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=300)
    extra: dict[str, Any] = json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TenderRow(SQLModel, table=True):
    __tablename__ = "tender"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True, max_length=200)
    buyer: str = Field(index=True, max_length=300)
    title: str = Field(max_length=500)
    description: str = ""
    cpv: list[str] = json_list()
    contract_value_eur: float | None = None
    start: date | None = None
    end: date | None = None
    municipality_code: str | None = Field(default=None, index=True, max_length=6)
    postcode: str | None = Field(default=None, max_length=7)
    lat: float | None = None
    lon: float | None = None
    nuts3: str | None = Field(default=None, max_length=5)
    # The social-return clause, flattened (None percentage and amount: no clause).
    sroi_percentage: float | None = None
    sroi_amount_eur: float | None = None
    sroi_basis: str = "contract_value"
    sroi_labour_cost_eur: float | None = None
    sroi_threshold_eur: float | None = None
    sroi_cap_eur: float | None = None
    sroi_target_groups: list[str] = json_list()
    sroi_region_km: float | None = None
    sroi_policy: str | None = None
    reserved: bool = False
    # Set by the OCDS/eForms importers when the percentage was found in free text;
    # an officer confirms it (sroi_confirmed) before it counts as entered.
    sroi_detected: bool = False
    sroi_detected_sentence: str | None = None
    sroi_confirmed: bool = True
    social_signals: list[str] = json_list()
    status: str = Field(default="published", max_length=20)  # draft | published
    source: str = Field(default="interchange", max_length=20)  # interchange | form | ocds…
    extra: dict[str, Any] = json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ChallengeRow(SQLModel, table=True):
    __tablename__ = "challenge"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True, max_length=100)
    municipality_code: str = Field(index=True, max_length=6)
    title: str = Field(max_length=500)
    question: str = ""
    themes: list[str] = json_list()
    opened_on: date | None = None
    deadline: date | None = None
    budget_eur: float | None = None
    max_partners: int = 3
    # intake -> call -> pitch -> pilot -> evaluation -> closed
    status: str = Field(default="intake", max_length=20)
    extra: dict[str, Any] = json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ObligationRow(SQLModel, table=True):
    __tablename__ = "obligation"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True, max_length=100)
    firm: str = Field(index=True, max_length=300)
    tender_ref: str | None = Field(default=None, index=True, max_length=200)
    amount_eur: float | None = None
    due: date | None = None
    buys: list[str] = json_list()
    municipality_code: str | None = Field(default=None, max_length=6)
    lat: float | None = None
    lon: float | None = None
    policy: str | None = None
    status: str = Field(default="open", max_length=20)  # open | met | closed
    extra: dict[str, Any] = json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CurationDecision(SQLModel, table=True):
    """Append-only: a connector's accept/reject/pin/unpin of one proposed match.

    The latest decision per (query_kind, query_ref, enterprise_ref) is the
    current state; earlier ones stay for the audit trail and for learning.
    """

    __tablename__ = "curation_decision"

    id: int | None = Field(default=None, primary_key=True)
    query_kind: str = Field(index=True, max_length=20)  # tender | challenge | obligation
    query_ref: str = Field(index=True, max_length=200)
    enterprise_ref: str = Field(index=True, max_length=100)
    decision: str = Field(max_length=20)  # accept | reject | pin | unpin
    reason: str = ""
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(default_factory=utcnow, index=True)
    rank: int | None = None
    score: float | None = None
    # Per-feature scores shown when the decision was made: the learning signal.
    features: dict[str, float] = json_dict()
    weight_set: str | None = None
    # Accepted or pinned although a hard constraint excludes it (the reason says why).
    override: bool = False


class VettingEvent(SQLModel, table=True):
    """Append-only log of vetting changes; EnterpriseRow holds the current state."""

    __tablename__ = "vetting_event"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_ref: str = Field(index=True, max_length=100)
    status: str = Field(max_length=20)
    valid_until: date | None = None
    reason: str = ""
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(default_factory=utcnow, index=True)


class ChallengeEvent(SQLModel, table=True):
    """Append-only log of a Challenge's stage changes (reopenings included); ChallengeRow
    holds the current stage."""

    __tablename__ = "challenge_event"

    id: int | None = Field(default=None, primary_key=True)
    challenge_ref: str = Field(index=True, max_length=100)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = ""
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(default_factory=utcnow, index=True)


class ChallengePitch(SQLModel, table=True):
    """An enterprise's answer to a Challenge's call: its approach, team and budget, the
    themes it takes on and the partners it brings."""

    __tablename__ = "challenge_pitch"
    __table_args__ = (UniqueConstraint("challenge_ref", "enterprise_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    challenge_ref: str = Field(index=True, max_length=100)
    enterprise_ref: str = Field(index=True, max_length=100)
    partners: list[str] = json_list()  # enterprise refs
    approach: str = ""
    team: str = ""
    budget_eur: float = 0.0
    themes: list[str] = json_list()
    submitted_by: str = Field(max_length=200)
    submitted_at: datetime = Field(default_factory=utcnow)


class ChallengePilot(SQLModel, table=True):
    """A pitch selected as pilot: its own clock of ``weeks`` from ``start``, its budget and,
    once evaluated, its outcome, score (1-10) and note."""

    __tablename__ = "challenge_pilot"
    __table_args__ = (UniqueConstraint("challenge_ref", "pitch_id"),)

    id: int | None = Field(default=None, primary_key=True)
    challenge_ref: str = Field(index=True, max_length=100)
    pitch_id: int = Field(index=True)
    start: date
    weeks: int = 12
    budget_eur: float = 0.0
    status: str = Field(default="running", max_length=20)  # running | evaluated
    outcome: str | None = Field(default=None, max_length=20)  # success | partial | failed
    score: int | None = None
    note: str = ""
    selected_by: str = Field(max_length=200)
    selected_at: datetime = Field(default_factory=utcnow)
    evaluated_by: str | None = Field(default=None, max_length=200)
    evaluated_at: datetime | None = None


class AllocationRow(SQLModel, table=True):
    """A planned or saved share of an obligation given to one enterprise."""

    __tablename__ = "allocation"
    __table_args__ = (UniqueConstraint("obligation_ref", "enterprise_ref", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    obligation_ref: str = Field(index=True, max_length=100)
    enterprise_ref: str = Field(index=True, max_length=100)
    kind: str = Field(default="purchase", max_length=20)  # purchase | placement
    amount_eur: float = 0.0
    credit_eur: float = 0.0
    placements: int = 0
    block: str | None = None  # building block key for placements
    status: str = Field(default="planned", max_length=20)  # planned | committed
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PlanEvent(SQLModel, table=True):
    """Append-only log of an obligation's plan being committed or uncommitted (with the
    reason), who did it, and the rows it concerned; ``AllocationRow.status`` holds the
    current state."""

    __tablename__ = "plan_event"

    id: int | None = Field(default=None, primary_key=True)
    obligation_ref: str = Field(index=True, max_length=100)
    action: str = Field(max_length=20)  # commit | uncommit
    reason: str = ""
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(default_factory=utcnow, index=True)
    rows: list[dict[str, Any]] = json_list()  # the rows committed or uncommitted


class DeliveryRow(SQLModel, table=True):
    """Append-only: what was actually delivered against a plan (a firm's progress report).

    A wrong delivery is never edited: a ``reversal`` row (``reverses_id``) carries its
    amounts negated, so every sum over the table is the net amount."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    obligation_ref: str = Field(index=True, max_length=100)
    enterprise_ref: str = Field(index=True, max_length=100)
    on: date
    amount_eur: float = 0.0
    credit_eur: float = 0.0
    note: str = ""
    kind: str = Field(default="delivery", max_length=20)  # delivery | reversal
    part: str = Field(default="purchase", max_length=20)  # purchase | placement
    reverses_id: int | None = Field(default=None, index=True)
    unplanned: bool = False  # neither in the plan nor committed, on purpose
    reason: str = ""  # why unplanned (a delivery) or why corrected (a reversal)
    recorded_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class DeliveryEvidence(SQLModel, table=True):
    """Append-only: an invoice or contract (PDF, PNG or JPEG) kept with a delivery."""

    __tablename__ = "delivery_evidence"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow)


class WeightSetRow(SQLModel, table=True):
    __tablename__ = "weight_set"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    version: int = 1
    weights: dict[str, float] = json_dict()
    active: bool = Field(default=False, index=True)
    metrics: dict[str, Any] = json_dict()
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class LabelSetRow(SQLModel, table=True):
    """A labelled evaluation set (``sroi evaluate LABELS.json --save``): the latest one is
    the set a learnt weight set must not do worse on (``api.services.learning``)."""

    __tablename__ = "label_set"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    document: dict[str, Any] = json_dict()
    loaded_at: datetime = Field(default_factory=utcnow, index=True)
    loaded_by: str = Field(default="", max_length=200)


class LedgerRow(SQLModel, table=True):
    """A firm's uploaded purchase ledger (spend analysis, ``api.services.ledgers``). Only
    the firm and connectors see it; deleting it deletes every line."""

    __tablename__ = "ledger"

    id: int | None = Field(default=None, primary_key=True)
    firm: str = Field(index=True, max_length=300)
    filename: str = Field(max_length=255)
    sha256: str = Field(index=True, max_length=64)
    mapping: dict[str, Any] = json_dict()  # field -> the file's header
    notes: list[Any] = json_list()  # the parser's notes (row, code, params)
    obligation_ref: str | None = Field(default=None, max_length=100)
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow)


class LedgerLineRow(SQLModel, table=True):
    """One accounts-payable line of a ledger with its CPV classification."""

    __tablename__ = "ledger_line"

    id: int | None = Field(default=None, primary_key=True)
    ledger_id: int = Field(index=True)
    row: int
    supplier: str = Field(max_length=300)
    supplier_key: str = Field(index=True, max_length=300)  # matcher.spend.fold_supplier
    description: str = ""
    account: str = Field(default="", max_length=200)
    amount_eur: float | None = None  # None: foreign currency without a euro amount
    currency: str = Field(default="EUR", max_length=3)
    amount_currency: float | None = None
    booked_on: date
    kvk: str | None = Field(default=None, max_length=8)
    place: str = Field(default="", max_length=100)
    cpv: str = Field(default="", max_length=8)
    confidence: float = 0.0
    source: str = Field(default="", max_length=20)  # matcher.spend.SpendLabel.source
    needs_review: bool = Field(default=False, index=True)
    enterprise_ref: str | None = Field(default=None, max_length=100)  # a registry supplier


class LedgerMapping(SQLModel, table=True):
    """A firm's column mapping, remembered for its next upload."""

    __tablename__ = "ledger_mapping"

    id: int | None = Field(default=None, primary_key=True)
    firm: str = Field(index=True, unique=True, max_length=300)
    mapping: dict[str, Any] = json_dict()
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerAccess(SQLModel, table=True):
    """A firm's grant: a connector (``connector_id``) or every connector of an
    organisation (``connector_org``) sees and works on the firm's ledgers. Revoking deletes
    the row. The rule that reads it is ``api.access`` (``visible_ledgers``)."""

    __tablename__ = "ledger_access"

    id: int | None = Field(default=None, primary_key=True)
    firm: str = Field(index=True, max_length=300)
    connector_id: int | None = Field(default=None, index=True)  # user_account.id
    connector_org: str | None = Field(default=None, index=True, max_length=300)
    granted_by: str = Field(max_length=200)
    granted_at: datetime = Field(default_factory=utcnow)


class SpendCorrection(SQLModel, table=True):
    """A person's CPV code for a supplier's line: the classifier learns from it and the
    supplier's other lines take it. Kept per firm; connectors' corrections teach every
    firm's classifier."""

    __tablename__ = "spend_correction"

    id: int | None = Field(default=None, primary_key=True)
    firm: str = Field(index=True, max_length=300)
    supplier_key: str = Field(index=True, max_length=300)
    kvk: str | None = Field(default=None, max_length=8)
    description: str = ""
    account: str = Field(default="", max_length=200)
    cpv: str = Field(max_length=8)
    corrected_by: str = Field(max_length=200)
    corrected_by_role: str = Field(default="firm", max_length=20)
    corrected_at: datetime = Field(default_factory=utcnow)


class ImportJob(SQLModel, table=True):
    """An import run in the background (``api.services.import_jobs``): the preview, then,
    once confirmed, the write. Its files are kept in ``import_job_file`` until it ends."""

    __tablename__ = "import_job"

    id: str = Field(primary_key=True, max_length=40)  # random: the job page's address
    created_by: int = Field(index=True)  # user_account.id
    format: str = Field(max_length=40)
    on_duplicate: str = Field(default="ask", max_length=20)
    partial: bool = False
    only_buyer: str | None = Field(default=None, max_length=300)
    mode: str = Field(default="preview", max_length=20)  # preview | write
    # queued | running | preview_ready | done | failed | cancelled
    state: str = Field(default="queued", index=True, max_length=20)
    step: str = Field(default="", max_length=20)  # read | duplicates | write
    rows_done: int = 0
    rows_total: int = 0
    cancel_requested: bool = False
    error: str = ""
    fingerprints: list[str] = json_list()  # the preview's, which the write must match
    report: dict[str, Any] = json_dict()  # the whole report (paged when shown)
    # A job that is not a registry import (format "ledger"): what it needs besides its
    # files (the ledger's firm, column mapping, obligation).
    params: dict[str, Any] = json_dict()
    runner: str = Field(default="", max_length=200)  # host:pid of the process running it
    # Written with its progress (api.services.jobs.Tracker): a worker on another host is
    # known dead only by its silence, its pid being out of reach.
    heartbeat_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobRow(SQLModel, table=True):
    """A background job on the queue (``api.services.jobs``): allocation, learning, batch
    ranking. Its state lives here (one owner); the queue only carries its id.

    queued -> running -> done | failed | cancelled; a job whose worker died is queued
    again (``attempts`` counts the runs) or, after the last attempt, failed."""

    __tablename__ = "job"

    id: str = Field(primary_key=True, max_length=40)  # random: the job page's address
    kind: str = Field(index=True, max_length=40)  # allocate | learn | rank_tenders
    params: dict[str, Any] = json_dict()
    created_by: int = Field(index=True)  # user_account.id
    created_by_email: str = Field(default="", max_length=200)
    state: str = Field(default="queued", index=True, max_length=20)
    step: str = Field(default="", max_length=40)
    done: int = 0
    total: int = 0
    cancel_requested: bool = False
    attempts: int = 0
    error: str = ""
    result: dict[str, Any] = json_dict()
    runner: str = Field(default="", max_length=200)  # host:pid of the worker running it
    heartbeat_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class TenderRankingRow(SQLModel, table=True):
    """The batch ranking of every open tender against the whole registry (the job
    ``rank_tenders``): its top enterprises per tender, replaced whole by each run."""

    __tablename__ = "tender_ranking"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True, max_length=40)
    tender_ref: str = Field(index=True, max_length=200)
    position: int = 0  # 1 = best
    enterprise_ref: str = Field(max_length=100)
    score: float = 0.0


class ImportJobFile(SQLModel, table=True):
    """An uploaded file of an import job, from the upload until the job ends."""

    __tablename__ = "import_job_file"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True, max_length=40)
    position: int = 0
    name: str = Field(max_length=255)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class HeldUpload(SQLModel, table=True):
    """A file held between a refused upload and the user's next try (the ledger's column
    mapping), so the file is not asked for again: in the database, because that next
    request may reach another web process or host (``api.web.upload_store``)."""

    __tablename__ = "held_upload"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(index=True, max_length=40)  # random, kept in the signed session
    user_id: int = Field(index=True)
    purpose: str = Field(max_length=20)  # which flow holds it ("ledger")
    position: int = 0
    name: str = Field(max_length=255)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=200)
    name: str = ""
    password_hash: str
    role: str = Field(max_length=20)  # officer | firm | connector | admin
    # Officer: the buyer whose tenders they see; firm: the firm whose obligations they see.
    organisation: str | None = Field(default=None, max_length=300)
    api_token_hash: str | None = Field(default=None, index=True, max_length=128)
    # A deactivated account cannot log in nor use its token (kept, not deleted: its name
    # stays in the logs it wrote). Set on the admin page (api.services.accounts).
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class NotificationRead(SQLModel, table=True):
    """A notification the user marked as read. Notifications themselves are computed on
    request (api.services.notifications) from the data; only "read" is stored, by the
    notification's stable key."""

    __tablename__ = "notification_read"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(index=True)
    key: str = Field(max_length=200)
    read_at: datetime = Field(default_factory=utcnow)


# --- state shared by the web processes (api/shared_state.py) ------------------------------

class AppStateVersion(SQLModel, table=True):
    """A counter per topic, bumped in the same transaction as every change the topic covers
    (``data``: any ORM commit that wrote something), so a process that sees a new number
    knows its caches may be stale, and one that sees the old number knows they are not."""

    __tablename__ = "app_state_version"

    topic: str = Field(primary_key=True, max_length=40)
    version: int = 0


class LoginAttempt(SQLModel, table=True):
    """A failed login, for the rate limit shared by every web process (the database
    backend of ``api.shared_state``). ``key`` is a hash of (client IP, e-mail): the table
    holds no addresses. ``at`` is Unix time in seconds."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=64)
    at: float = Field(index=True)

class RenderCacheEntry(SQLModel, table=True):
    """A rendered fragment every reader shares (``api.services.shared_cache``: the render
    cache's level shared by the web processes on PostgreSQL without Redis). ``key`` is a
    hash of everything the fragment depends on (data version included), so an entry is
    never wrong, only unused once the data moved on; ``version`` and ``stored_at`` (Unix
    seconds) let writers drop such entries. A cache: the table may be emptied at any time
    (on PostgreSQL it is UNLOGGED, not in the write-ahead log)."""

    __tablename__ = "render_cache_entry"

    key: str = Field(primary_key=True, max_length=64)
    version: int = Field(index=True)
    stored_at: float = Field(index=True)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

# --- append-only audit tables ------------------------------------------------------------

class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a row of an audit log."""


APPEND_ONLY: tuple[type[SQLModel], ...] = (CurationDecision, VettingEvent, DeliveryRow,
                                           ChallengeEvent, DeliveryEvidence, PlanEvent)


def _refuse_change(mapper: Any, connection: Any, target: Any) -> None:
    raise AppendOnlyError(
        f"{target.__tablename__} is append-only: record a new row instead of changing "
        f"or deleting row {target.id}")


def _add_triggers(table: Any, connection: Any, **_: Any) -> None:
    # The database refuses changes too (raw SQL bypasses the ORM): see api/append_only.py.
    for statement in trigger_statements(table.name, connection.dialect.name):
        connection.exec_driver_sql(statement)


for _cls in APPEND_ONLY:
    event.listen(_cls, "before_update", _refuse_change)
    event.listen(_cls, "before_delete", _refuse_change)
    event.listen(_cls.__table__, "after_create", _add_triggers)  # type: ignore[attr-defined]

"""What an import did, for every format: ``ImportReport`` (one call, its files in the
order given) of ``FileReport`` (one file). The CLI, the API and the import page all show
this one report.

A file of interchange records is imported whole or not at all: its ``status`` says
which, ``issues`` lists every problem and ``duplicates`` the likely duplicate
enterprises. A file of published notices has one outcome per notice in ``items``
(created, updated, unchanged, stale, rejected, not written) and the problems with the
file as a whole in ``file_errors``; with ``partial`` its valid notices are written even
when others are rejected (``status`` "partial"). ``counts`` holds the per-kind totals for
both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from api.importers.common import ItemError, ItemOutcome
from api.importers.common import location_text as published_location
from api.importers.interchange import KINDS, Issue, location_text
from api.messages import Message, Text, msg, msgn, to_json
from api.services.duplicates import Match


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    stale: int = 0  # a published notice older than the version stored

    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.merged + self.stale

    def describe(self) -> Message:
        parts = [msg("{n} nieuw", n=self.created), msg("{n} bijgewerkt", n=self.updated)]
        if self.unchanged:
            parts.append(msg("{n} ongewijzigd", n=self.unchanged))
        if self.merged:
            parts.append(msg("{n} samengevoegd met bestaande", n=self.merged))
        if self.stale:
            parts.append(msg("{n} ouder dan opgeslagen", n=self.stale))
        return msg("{parts}", parts=parts)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class DuplicatePair:
    incoming_ref: str
    incoming_name: str
    incoming_location: str
    existing_ref: str
    existing_name: str
    existing_location: str  # "database" or the place in this file
    reason: str  # "kvk" | "name"
    score: float
    action: str  # "ask" | "merged" | "kept both"

    @classmethod
    def from_match(cls, m: Match, action: str) -> DuplicatePair:
        return cls(m.new.ref, m.new.name, m.new.where, m.other.ref, m.other.name,
                   m.other.where, m.reason, round(m.score, 1), action)

    def describe(self) -> Message:
        why = msg("zelfde KvK-nummer") if self.reason == "kvk" else \
            msg("naam {score} % gelijk", score=round(self.score))
        other = msg("in de database") if self.existing_location == "database" else \
            msg("op {where}", where=location_text(self.existing_location))
        return msg("{where} {ref} ({name}) lijkt op {other_ref} ({other_name}) {other}: {why}, "
                  "zelfde gebied", where=location_text(self.incoming_location),
                  ref=repr(self.incoming_ref), name=self.incoming_name,
                  other_ref=repr(self.existing_ref), other_name=self.existing_name,
                  other=other, why=why)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "message": self.describe().to_json()}


# Rows of a report's long lists (changes, duplicates) per page: a 3,000-name file of
# look-alikes has millions of pairs; the report keeps their count, not all of them.
PAGE = 200
KEEP_DUPLICATES = 5 * PAGE


def plain(value: Any) -> Any:
    """A column value as JSON (dates as ISO text) for a difference."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


@dataclass
class Change:
    """What an import does (or would do) to one record of the file.

    ``action``: new | changed | unchanged | merged | refused. ``diff`` holds each changed
    field as [stored, file]; ``kept`` the file's values that are *not* applied (an
    existing enterprise's vetting, a merged enterprise's name), as [stored, file]."""

    kind: str
    ref: str
    action: str
    diff: dict[str, list[Any]] = field(default_factory=dict)
    kept: dict[str, list[Any]] = field(default_factory=dict)
    into: str | None = None  # merged: the enterprise it updates
    reason: Text = ""  # refused: why (a message, rendered in the reader's language)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reason"] = to_json(self.reason)  # asdict would take the message apart
        return out


def _page(items: list[Any], total: int, page: int) -> tuple[list[Any], int]:
    start = (max(page, 1) - 1) * PAGE
    return items[start:start + PAGE], max(1, -(-total // PAGE))


def _new_counts() -> dict[str, KindCounts]:
    return {k: KindCounts() for k in KINDS}


@dataclass
class FileReport:
    file: str
    format: str = "interchange"  # a name in api.importers.registry
    status: str = "imported"  # imported | partial | rejected | duplicates
    counts: dict[str, KindCounts] = field(default_factory=_new_counts)
    issues: list[Issue] = field(default_factory=list)
    duplicates: list[DuplicatePair] = field(default_factory=list)
    # Every likely pair is counted, the first KEEP_DUPLICATES are kept.
    duplicates_total: int = 0
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False  # a preview: computed like the write, then rolled back
    # Digest of the change set: a confirmation writes only if it still matches.
    fingerprint: str = ""
    source_digest: str = ""  # sha256 of the file's bytes (part of the fingerprint)
    items: list[ItemOutcome] = field(default_factory=list)
    file_errors: list[ItemError] = field(default_factory=list)
    # Published notices: what does not refuse the file ("no releases").
    file_warnings: list[ItemError] = field(default_factory=list)
    partial: bool = False
    written: bool = False
    vetting_events: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "imported"

    def reset_counts(self) -> None:
        self.counts = _new_counts()

    def add_duplicates(self, pairs: list[DuplicatePair], total: int) -> None:
        self.duplicates = pairs[:KEEP_DUPLICATES]
        self.duplicates_total = total

    def add_change(self, change: Change) -> None:
        self.changes.append(change)

    def seal(self) -> None:
        """Compute the fingerprint of the change set (and the duplicate decisions)."""
        h = hashlib.sha256(self.source_digest.encode())
        for c in self.changes:
            h.update(json.dumps(c.to_dict(), sort_keys=True, default=str).encode())
        for d in self.duplicates:
            h.update(json.dumps(d.to_dict(), sort_keys=True).encode())
        h.update(str(self.duplicates_total).encode())
        self.fingerprint = h.hexdigest()

    def action_counts(self) -> dict[str, int]:
        out = {a: 0 for a in ("new", "changed", "unchanged", "merged", "refused")}
        for c in self.changes:
            out[c.action] = out.get(c.action, 0) + 1
        return out

    @property
    def refused(self) -> list[Change]:
        return [c for c in self.changes if c.action == "refused"]

    @property
    def overwrites(self) -> list[Change]:
        """Existing records whose stored values the file changes (a merge is asked for
        separately, with the duplicate choice)."""
        return [c for c in self.changes if c.action == "changed"]

    def count(self, action: str) -> int:
        """Published notices with this outcome."""
        return sum(1 for i in self.items if i.action == action)

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counts.values())

    @property
    def created(self) -> int:
        return self._total("created")

    @property
    def updated(self) -> int:
        return self._total("updated")

    @property
    def unchanged(self) -> int:
        return self._total("unchanged")

    @property
    def stale(self) -> int:
        return self._total("stale")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def errors(self) -> list[ItemError]:
        """The published notices' problems: the file's, then each rejected item's."""
        out = list(self.file_errors)
        for item in self.items:
            out.extend(item.errors)
        return out

    @property
    def warning_count(self) -> int:
        """Fields left empty (and other notes) over the published notices, and the file's."""
        return len(self.file_warnings) + sum(len(i.warnings) for i in self.items)

    def summary_lines(self) -> list[Message]:
        if self.status == "imported":
            kinds = [msg("{kind}: {counts}", kind=k, counts=c.describe())
                     for k, c in self.counts.items() if c.total()]
            return kinds or [msg("niets in te lezen (geen records)")]
        if self.status == "duplicates":
            total = max(self.duplicates_total, len(self.duplicates))
            return [msgn("niet ingelezen: {n} waarschijnlijk dubbele onderneming; start "
                         "opnieuw met --on-duplicate merge (de bestaande onderneming bijwerken) "
                         "of --on-duplicate keep-both",
                         "niet ingelezen: {n} waarschijnlijk dubbele ondernemingen; start "
                         "opnieuw met --on-duplicate merge (de bestaande onderneming bijwerken) "
                         "of --on-duplicate keep-both", total)]
        return [msgn("niet ingelezen: {n} probleem; de database is door dit bestand niet "
                     "gewijzigd", "niet ingelezen: {n} problemen; de database is door dit "
                     "bestand niet gewijzigd", len(self.issues))]

    def to_dict(self, page: int | None = 1) -> dict[str, Any]:
        """JSON of the report; the changes and duplicates paged (PAGE per page; ``None``:
        all, see ``page_of``). Published notices' outcomes are all listed."""
        # Unchanged records are counted, not listed: the lists show what the file does.
        listed = [c for c in self.changes if c.action != "unchanged"]
        return _page_file({
            "file": self.file, "format": self.format, "status": self.status,
            "dry_run": self.dry_run, "fingerprint": self.fingerprint,
            "actions": self.action_counts(),
            "changes": [c.to_dict() for c in listed], "changes_total": len(listed),
            "change_pages": 1, "page": 1,
            "duplicates_total": max(self.duplicates_total, len(self.duplicates)),
            "duplicate_pages": 1,
            "partial": self.partial, "written": self.written,
            "counts": {k: c.to_dict() for k, c in self.counts.items()},
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "stale": self.stale, "rejected": self.rejected,
            "issues": [i.to_dict() for i in self.issues],
            "duplicates": [d.to_dict() for d in self.duplicates],
            "items": [
                {"location": to_json(published_location(i.location)), "ref": i.ref,
                 "action": i.action,
                 "errors": [e.to_dict() for e in i.errors],
                 "warnings": [w.to_dict() for w in i.warnings]}
                for i in self.items
            ],
            "file_errors": [e.to_dict() for e in self.file_errors],
            "file_warnings": [w.to_dict() for w in self.file_warnings],
            "warnings": self.warning_count,
            "items_total": len(self.items),
            "vetting_events": self.vetting_events,
            "seconds": round(self.seconds, 3),
        }, page, items=False)


@dataclass
class ImportReport:
    files: list[FileReport]
    format: str = "interchange"
    on_duplicate: str = "ask"
    partial: bool = False
    cancelled: bool = False  # stopped on request; the files it stopped at say so

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def has_duplicates(self) -> bool:
        return any(f.status == "duplicates" for f in self.files)

    @property
    def dry_run(self) -> bool:
        return any(f.dry_run for f in self.files)

    @property
    def overwrites(self) -> list[Change]:
        return [c for f in self.files for c in f.overwrites]

    @property
    def fingerprints(self) -> list[str]:
        return [f.fingerprint for f in self.files]

    def to_dict(self, page: int | None = 1) -> dict[str, Any]:
        """JSON of the report, its long lists paged (``page=None``: all of them, for
        keeping the report whole and paging it later with ``page_of``)."""
        return {"ok": self.ok, "format": self.format, "on_duplicate": self.on_duplicate,
                "partial": self.partial, "dry_run": self.dry_run, "cancelled": self.cancelled,
                "files": [f.to_dict(page) for f in self.files]}


def page_of(report: dict[str, Any], page: int, items: bool = True) -> dict[str, Any]:
    """One page of a whole report (``ImportReport.to_dict(None)``): each file's changes,
    duplicates and (with ``items``) published notices' outcomes, PAGE of each."""
    return {**report, "files": [_page_file(f, page, items) for f in report.get("files", [])]}


def _page_file(full: dict[str, Any], page: int | None, items: bool) -> dict[str, Any]:
    if page is None:
        return full
    out = dict(full)
    out["page"] = max(page, 1)
    out["changes"], out["change_pages"] = _page(full["changes"], len(full["changes"]), page)
    out["duplicates"], out["duplicate_pages"] = _page(full["duplicates"],
                                                      len(full["duplicates"]), page)
    out["items_total"] = len(full["items"])
    if items:
        out["items"], out["item_pages"] = _page(full["items"], len(full["items"]), page)
    else:
        out["item_pages"] = 1
    return out

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

from dataclasses import asdict, dataclass, field
from typing import Any

from api.importers.common import ItemError, ItemOutcome
from api.importers.interchange import KINDS, Issue
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

    def describe(self) -> str:
        parts = [f"{self.created} created", f"{self.updated} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.merged:
            parts.append(f"{self.merged} merged into existing")
        if self.stale:
            parts.append(f"{self.stale} older than stored")
        return ", ".join(parts)

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

    def describe(self) -> str:
        why = "same KvK number" if self.reason == "kvk" else f"names {self.score:.0f}% alike"
        other = "in the database" if self.existing_location == "database" else \
            f"at {self.existing_location}"
        return (f"{self.incoming_location} {self.incoming_ref!r} ({self.incoming_name}) looks "
                f"like {self.existing_ref!r} ({self.existing_name}) {other}: {why}, same area")

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "message": self.describe()}


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
    items: list[ItemOutcome] = field(default_factory=list)
    file_errors: list[ItemError] = field(default_factory=list)
    partial: bool = False
    written: bool = False
    vetting_events: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "imported"

    def reset_counts(self) -> None:
        self.counts = _new_counts()

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

    def summary_lines(self) -> list[str]:
        if self.status == "imported":
            kinds = [f"{k}: {c.describe()}" for k, c in self.counts.items() if c.total()]
            return kinds or ["nothing to import (no records)"]
        if self.status == "duplicates":
            return [f"not imported: {len(self.duplicates)} likely duplicate enterprise(s); "
                    "re-run with --on-duplicate merge (update the existing enterprise) or "
                    "--on-duplicate keep-both"]
        return [f"not imported: {len(self.issues)} problem(s); the database is unchanged "
                "by this file"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "format": self.format, "status": self.status,
            "partial": self.partial, "written": self.written,
            "counts": {k: c.to_dict() for k, c in self.counts.items()},
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "stale": self.stale, "rejected": self.rejected,
            "issues": [i.to_dict() for i in self.issues],
            "duplicates": [d.to_dict() for d in self.duplicates],
            "items": [
                {"location": i.location, "ref": i.ref, "action": i.action,
                 "errors": [asdict(e) for e in i.errors]}
                for i in self.items
            ],
            "file_errors": [asdict(e) for e in self.file_errors],
            "vetting_events": self.vetting_events,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ImportReport:
    files: list[FileReport]
    format: str = "interchange"
    on_duplicate: str = "ask"
    partial: bool = False

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def has_duplicates(self) -> bool:
        return any(f.status == "duplicates" for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "format": self.format, "on_duplicate": self.on_duplicate,
                "partial": self.partial, "files": [f.to_dict() for f in self.files]}

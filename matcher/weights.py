"""Weight sets: how much each per-feature score counts in the final score.

Weights are data (name, version, one number per feature), saved as JSON and kept
in the store's ``weight_set`` table, so a learned set can replace the default
without a code change and every match can say which set scored it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Order is the column order of feature matrices (rank.feature_matrix).
FEATURES: tuple[str, ...] = (
    "text",  # word TF-IDF cosine
    "text_char",  # char 3-5-gram cosine (shortlist only)
    "cpv",  # hierarchy-aware CPV similarity
    "geo",  # distance relative to the service radius
    "groups",  # target-group fit
    "certification",  # recognition level
    "capacity",  # remaining capacity vs the euros due
)


@dataclass(frozen=True)
class WeightSet:
    name: str
    version: int = 1
    weights: Mapping[str, float] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features in weight set {self.name!r}: {sorted(unknown)}; "
                             f"known: {list(FEATURES)}")
        bad = {k: v for k, v in self.weights.items() if not v >= 0}
        if bad:
            raise ValueError(f"weights must be >= 0, got {bad}")

    def get(self, feature: str) -> float:
        return float(self.weights.get(feature, 0.0))

    def vector(self) -> list[float]:
        """Weights in FEATURES order."""
        return [self.get(f) for f in FEATURES]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "weights": {f: self.get(f) for f in FEATURES}, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeightSet:
        return cls(name=str(data["name"]), version=int(data.get("version", 1)),
                   weights={str(k): float(v) for k, v in dict(data["weights"]).items()},
                   note=str(data.get("note", "")))


# Hand-set starting point: what the enterprise does (CPV, text) dominates, then
# where it is and whom it employs; recognition and capacity break ties.
DEFAULT = WeightSet(
    name="default",
    version=1,
    weights={
        "text": 0.22,
        "text_char": 0.06,
        "cpv": 0.30,
        "geo": 0.14,
        "groups": 0.12,
        "certification": 0.06,
        "capacity": 0.10,
    },
    note="hand-set starting weights",
)

# Challenges: a municipal Challenge has no CPV codes and no euros due, so under DEFAULT
# (renormalised over the features that apply, ``rank.effective_weights``) distance would
# carry ~30 % of the score and everything local would rank high whatever it does. A
# connector reads a Challenge by its question and themes (what the enterprise does and
# for whom); place matters within the municipality's region (the service radius is a
# hard constraint already), recognition breaks ties. ``matcher.challenge`` blends this
# fit to the question with the (rarity-weighted) theme coverage.
CHALLENGE = WeightSet(
    name="challenge",
    version=1,
    weights={
        "text": 0.60,
        "text_char": 0.15,
        "geo": 0.10,
        "groups": 0.10,  # only when a Challenge query names target groups
        "certification": 0.10,
    },
    note="hand-set Challenge profile: question text first, place and recognition light",
)


def save(ws: WeightSet, path: str | Path) -> None:
    Path(path).write_text(json.dumps(ws.to_dict(), indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")


def load(path: str | Path) -> WeightSet:
    return WeightSet.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

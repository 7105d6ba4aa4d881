"""Recognition level: how strongly an enterprise's social character is attested.

Only certificates valid on the reference date count. The scale is ordinal and
is data (``LEVEL_SCORES``): PSO's ladder (aspirant < 1 < 2 < 3), PSO 30+ (audited
≥ 30 % target-group staff) at the top; register memberships in between; a
self-reported ≥ 30 % target-group share below audited certificates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray

from matcher.model import RESERVED_MIN_TARGET_GROUP_SHARE, Enterprise
from matcher.reasons import Reason, reason

LEVEL_SCORES: Mapping[tuple[str, str | None], float] = {
    ("PSO", "aspirant"): 0.25,
    ("PSO", "1"): 0.5,
    ("PSO", "2"): 0.75,
    ("PSO", "3"): 1.0,
    ("PSO", None): 0.5,
    ("PSO30+", None): 1.0,
    ("CodeSO", None): 0.8,
    ("SENL", None): 0.6,
    ("BCorp", None): 0.6,
}
SHARE_30_SCORE = 0.7


def cert_score(scheme: str, level: str | None) -> float:
    s = LEVEL_SCORES.get((scheme, level))
    if s is None:
        s = LEVEL_SCORES.get((scheme, None), 0.0)
    return s


def recognition(e: Enterprise, on: date) -> tuple[float, list[Reason]]:
    """(score in [0, 1], reasons) from valid certificates and the staff share."""
    best, why = 0.0, []
    for c in e.certifications:
        if not c.is_valid(on):
            continue
        s = cert_score(c.scheme, c.level)
        if s > 0:
            why.append(reason("certified", scheme=c.scheme, level=c.level or None,
                              valid_until=c.valid_until.isoformat() if c.valid_until else None))
        best = max(best, s)
    share = e.target_group_share
    if share is not None and share >= RESERVED_MIN_TARGET_GROUP_SHARE:
        why.append(reason("staff_share", share=round(float(share), 4)))
        best = max(best, SHARE_30_SCORE)
    return best, why


def recognition_scores(enterprises: Sequence[Enterprise], on: date) -> NDArray[np.float64]:
    return np.array([recognition(e, on)[0] for e in enterprises], dtype=np.float64)

"""The curation decision form, shared by the curation queue and the Challenge page:
the proposals it lists and the refused decision it shows again after a redirect."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from api.capacity_view import capacity_fields
from api.labels import CODE_NL
from api.tables import CurationDecision

DECISION_NL = {code: CODE_NL[code] for code in ("accept", "reject", "pin", "unpin")}
FORM_ERROR_KEY = "curation_form_error"


def proposal_dict(kind: str, query_ref: str, m: Any, latest: CurationDecision | None,
                  weight_set: str | None = None) -> dict[str, Any]:
    """A MatchView as the curation forms and tables show it."""
    features = {k: float(v) for k, v in dict(getattr(m, "features", None) or {}).items()}
    return {
        "key": f"{kind}|{query_ref}|{m.ref}", "kind": kind, "query_ref": query_ref,
        "rank": m.rank, "ref": m.ref, "name": m.name, "municipality": m.municipality,
        "score": float(m.score), "reasons": list(m.reasons or []),
        "distance_km": m.distance_km, "remaining_eur": m.remaining_eur,
        "capacity": m.capacity, **capacity_fields(m.capacity),
        "features_json": json.dumps(features, separators=(",", ":")),
        "weight_set": weight_set,
        # The decision in effect on the list (MatchView.decision), shown as a marker.
        "decided": m.decision.as_dict() if getattr(m, "decision", None) else None,
        "excluded_by": list(getattr(m, "excluded_by", None) or []),
        "decision": latest.decision if latest else None,
        "decided_by": latest.decided_by if latest else None,
        "decided_at": latest.decided_at if latest else None,
        "history_url": (f"/curation/log?query_kind={kind}&query_ref={query_ref}"
                        f"&enterprise_ref={m.ref}"),
    }


def pop_form_error(request: Request) -> dict[str, Any] | None:
    """The refused decision of the previous POST (its message and what was typed)."""
    value = request.session.pop(FORM_ERROR_KEY, None) if FORM_ERROR_KEY in request.session \
        else None
    return value if isinstance(value, dict) else None

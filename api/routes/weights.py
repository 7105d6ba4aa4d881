"""Weight sets page (connector/admin): the active set, its weights, history, rollback.

GET /weights shows which weight set ranks matches now (as a bar chart of its
weights), every saved version newest first with its held-out metrics and what
changed from the version before, and a rollback button per inactive version.
POST /weights/{version}/activate (CSRF-protected) makes that version active.
GET /api/v1/weights returns the same as JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import ConnectorUser, SessionDep, csrf_protect, flash, render
from api.i18n import request_lang, translator
from api.labels import FEATURE_NL
from api.schemas import ERROR_RESPONSES
from api.services.weights import WeightsError, active_row, active_weights, history, rollback
from matcher.weights import FEATURES

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["weights"], responses=ERROR_RESPONSES)




def page_context(session: Any) -> dict[str, Any]:
    versions = history(session)
    active = active_weights(session)
    return {
        "active": active.to_dict(),
        "stored": active_row(session) is not None,
        "versions": versions,
        "features": FEATURES,
        "feature_labels": FEATURE_NL,
    }


@router.get("/weights", include_in_schema=False)
def weights_page(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    ctx = page_context(session)
    t = translator(request_lang(request))
    ctx["chart"] = [(t(FEATURE_NL.get(f, f)), float(w))
                    for f, w in ctx["active"]["weights"].items()]
    return render(request, "weights/index.html", ctx)


@router.post("/weights/{version}/activate", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def weights_activate(version: int, request: Request, user: ConnectorUser,
                     session: SessionDep) -> Response:
    t = translator(request_lang(request))
    try:
        row = rollback(session, version)
    except WeightsError:
        flash(request, t("Versie {version} bestaat niet.", version=version), "error")
        return RedirectResponse("/weights", status_code=303)
    flash(request, t("Gewichtenset {name} versie {version} is weer actief.",
                     name=row.name, version=row.version))
    return RedirectResponse("/weights", status_code=303)


@api_router.get("/weights")
def weights_json(user: ConnectorUser, session: SessionDep) -> dict[str, Any]:
    """The active weight set and every saved version (newest first)."""
    ctx = page_context(session)
    return {"active": ctx["active"], "versions": ctx["versions"]}

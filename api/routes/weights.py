"""Weight sets page (connector/admin): the active set, its weights, history, rollback.

GET /weights shows which weight set ranks matches now (as a bar chart of its
weights), every saved version newest first with its held-out and labelled-set metrics
and what changed from the version before, and a rollback button per inactive version.
POST /weights/{version}/activate (CSRF-protected) makes that version active; a set the
learning guard refused first asks for confirmation (``confirm`` checkbox).
POST /weights/learn queues a learning job (``api.services.learning_jobs``, run by a worker);
GET /api/v1/weights/learn is its progress, which the page polls.
GET /api/v1/weights returns the versions as JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from api.deps import ConnectorUser, SessionDep, csrf_protect, flash, render
from api.errors import DomainError
from api.i18n import api_lang, request_lang, translator
from api.labels import FEATURE_NL
from api.messages import render_text, render_tree
from api.schemas import ERROR_RESPONSES
from api.services import learning_jobs
from api.services.weights import (
    RefusedSet,
    WeightsError,
    active_row,
    active_weights,
    history,
    note_text,
    rollback,
    was_active,
)
from api.tables import WeightSetRow
from matcher.weights import FEATURES

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["weights"], responses=ERROR_RESPONSES)




def page_context(session: Any, lang: str = "nl") -> dict[str, Any]:
    versions = history(session, lang)
    active = active_weights(session).to_dict()
    active["note"] = render_text(note_text(active.get("note")), lang)
    return {
        "active": active,
        "stored": active_row(session) is not None,
        "versions": versions,
        "features": FEATURES,
        "feature_labels": FEATURE_NL,
    }


@router.get("/weights", include_in_schema=False)
def weights_page(request: Request, user: ConnectorUser, session: SessionDep,
                 bevestig: int | None = None) -> Response:
    ctx = page_context(session, request_lang(request))
    t = translator(request_lang(request))
    ctx["chart"] = [(t(FEATURE_NL.get(f, f)), float(w))
                    for f, w in ctx["active"]["weights"].items()]
    # The confirmation step for activating a refused set.
    ctx["confirm"] = next((v for v in ctx["versions"] if v["version"] == bevestig
                           and v["metrics"].get("status") == "refused"), None)
    ctx["job"] = learning_jobs.status(session.get_bind().engine)
    return render(request, "weights/index.html", ctx)


@router.post("/weights/{version}/activate", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def weights_activate(version: int, request: Request, user: ConnectorUser,
                           session: SessionDep) -> Response:
    t = translator(request_lang(request))
    form = await request.form()
    before = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    again = before is not None and was_active(before)
    try:
        row = rollback(session, version, force=form.get("confirm") == "1")
    except WeightsError:
        flash(request, t("Versie {version} bestaat niet.", version=version), "error")
        return RedirectResponse("/weights", status_code=303)
    except RefusedSet:
        return RedirectResponse(f"/weights?bevestig={version}#confirm", status_code=303)
    message = ("Gewichtenset {name} versie {version} is weer actief." if again
               else "Gewichtenset {name} versie {version} is nu actief.")
    flash(request, t(message, name=row.name, version=row.version))
    return RedirectResponse("/weights", status_code=303)


@router.post("/weights/learn", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def weights_learn(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    t = translator(request_lang(request))
    try:
        learning_jobs.start(session.get_bind().engine, user)
    except DomainError as exc:
        flash(request, exc.render(request_lang(request)), "error")
    else:
        flash(request, t("Leren gestart; de voortgang staat hieronder."))
    return RedirectResponse("/weights#learn", status_code=303)


@api_router.get("/weights/learn")
def weights_learn_status(request: Request, user: ConnectorUser, session: SessionDep
                         ) -> dict[str, Any]:
    """Progress of the latest learning run (a background job, ``GET /api/v1/jobs/{id}``):
    ``{"state": "none"}`` when none ran; else state, step, done/total and the result (its
    messages in the client's language)."""
    job = learning_jobs.status(session.get_bind().engine)
    return dict(render_tree(job, api_lang(request))) if job is not None else {"state": "none"}


@api_router.get("/weights")
def weights_json(request: Request, user: ConnectorUser, session: SessionDep
                 ) -> dict[str, Any]:
    """The active weight set and every saved version (newest first); notes in the
    client's language (Accept-Language)."""
    ctx = page_context(session, api_lang(request))
    return {"active": ctx["active"], "versions": ctx["versions"]}

"""Background jobs (connector/admin): allocation, learning, batch ranking
(``api.services.jobs``), run by a worker off the queue.

Pages: GET /jobs lists recent jobs with a start button per kind; POST /jobs starts one
and goes to its page; GET /jobs/{id} shows its state and progress (refreshing itself
while it runs), its result or why it failed; POST /jobs/{id}/cancel stops it.
API: POST /api/v1/jobs ``{"kind", "params"}`` answers 202 with the job and its address
(503 with the reason when the queue cannot be reached: nothing is started);
GET /api/v1/jobs, GET /api/v1/jobs/{id}, POST /api/v1/jobs/{id}/cancel;
GET /api/v1/rankings/{tender_ref}: the stored batch ranking of one tender.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api import fields
from api.db import get_engine
from api.deps import ConnectorUser, SessionDep, csrf_protect, flash, render
from api.errors import DomainError
from api.i18n import N_, api_lang, request_lang, translator
from api.messages import render_tree
from api.schemas import ERROR_RESPONSES
from api.services import batch, jobs

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["jobs"], responses=ERROR_RESPONSES)

KIND_LABELS = {
    "allocate": N_("Alle open verplichtingen verdelen (globale allocatie)"),
    "rank_tenders": N_("Alle open aanbestedingen rangschikken tegen het hele register"),
    "learn": N_("Gewichten leren uit de curatiebeslissingen"),
}


if TYPE_CHECKING:
    JobKind = str
else:  # the services' kinds, as an enumeration in the OpenAPI document
    JobKind = Literal[tuple(jobs.KINDS)]


class JobParams(BaseModel):
    """The parameters jobs take (``api.services.batch.check_params``); which kind takes
    which is said in words (another kind's parameter is a 422)."""
    model_config = ConfigDict(extra="forbid", strict=True)
    # 3.0 is an integer to JSON Schema: fields.whole reads it as 3 (strict pydantic would not).
    top_k: Annotated[int, Field(ge=1, le=200), BeforeValidator(fields.whole)] | None = Field(
        None, description="allocate, rank_tenders")
    save: bool | None = Field(None, description="allocate (default true)")
    min_decisions: Annotated[int, Field(ge=1, le=100_000),
                             BeforeValidator(fields.whole)] | None = Field(
        None, description="learn")


class JobIn(BaseModel):
    kind: JobKind = Field(description="allocate | learn | rank_tenders")
    params: JobParams | None = Field(None, description=(
        "allocate: top_k, save; learn: min_decisions; rank_tenders: top_k"))


def _job_url(job_id: str) -> str:
    return f"/api/v1/jobs/{job_id}"


# ------------------------------------------------------------------ pages


@router.get("/jobs", include_in_schema=False)
def jobs_page(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    from api.services.job_queue import unreachable

    return render(request, "jobs/index.html", {
        "jobs": [jobs.view(j) for j in jobs.recent(session, user)],
        "kinds": KIND_LABELS, "queue_down": unreachable()})


@router.post("/jobs", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def jobs_start(request: Request, user: ConnectorUser,
               kind: Annotated[str, Form(max_length=40)]) -> Response:
    t = translator(request_lang(request))
    try:
        job = jobs.submit(get_engine(), user, kind)
    except DomainError as exc:
        flash(request, t(exc.message, **exc.params), "error")
        return RedirectResponse("/jobs", status_code=303)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}", include_in_schema=False)
def job_page(request: Request, user: ConnectorUser, session: SessionDep, job_id: str
             ) -> Response:
    job = jobs.view(jobs.get(session, job_id, user))
    return render(request, "jobs/job.html", {"job": job, "kinds": KIND_LABELS})


@router.post("/jobs/{job_id}/cancel", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def job_cancel(request: Request, user: ConnectorUser, job_id: str) -> Response:
    t = translator(request_lang(request))
    try:
        job = jobs.cancel(get_engine(), job_id, user)
    except DomainError as exc:
        flash(request, t(exc.message, **exc.params), "error")
    else:
        flash(request, t("Taak geannuleerd; er is niets opgeslagen.") if job.state == "cancelled"
              else t("De taak stopt; wat zij al deed wordt teruggedraaid."), "info")
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


# ------------------------------------------------------------------ API


@api_router.post("/jobs", status_code=202, responses={
    202: {"description": "Queued: poll `Location` for its progress and result"},
    503: {"description": "The job queue cannot be reached: nothing was started"}})
def api_job_start(body: JobIn, request: Request, user: ConnectorUser) -> JSONResponse:
    """Start a background job; its state, progress and result are at `Location`."""
    job = jobs.submit(get_engine(), user, body.kind,
                      body.params.model_dump(exclude_none=True) if body.params else {})
    return JSONResponse(render_tree(jobs.view(job), api_lang(request)), status_code=202,
                        headers={"Location": _job_url(job.id)})


@api_router.get("/jobs")
def api_jobs(request: Request, user: ConnectorUser, session: SessionDep
             ) -> list[dict[str, Any]]:
    """Recent jobs, newest first; the messages in their results in the client's language."""
    return [render_tree(jobs.view(j), api_lang(request)) for j in jobs.recent(session, user)]


@api_router.get("/jobs/{job_id}")
def api_job(job_id: str, request: Request, user: ConnectorUser, session: SessionDep
            ) -> dict[str, Any]:
    """A job: state (queued, running, done, failed, cancelled), step, done of total,
    percent, result once done (its messages in the client's language), error once failed."""
    return dict(render_tree(jobs.view(jobs.get(session, job_id, user)), api_lang(request)))


@api_router.post("/jobs/{job_id}/cancel")
def api_job_cancel(job_id: str, request: Request, user: ConnectorUser) -> dict[str, Any]:
    """Cancel a job: a queued one ends now, a running one at its next step (nothing of it
    is written)."""
    return dict(render_tree(jobs.view(jobs.cancel(get_engine(), job_id, user)),
                            api_lang(request)))


@api_router.get("/rankings/{tender_ref}")
def api_ranking(tender_ref: str, user: ConnectorUser, session: SessionDep
                ) -> dict[str, Any]:
    """The stored batch ranking of one tender (job ``rank_tenders``): its enterprises in
    order with their scores, and the job that computed them."""
    rows = batch.stored_ranking(session, tender_ref)
    return {"tender_ref": tender_ref, "job_id": rows[0].job_id if rows else None,
            "rows": [{"position": r.position, "enterprise_ref": r.enterprise_ref,
                      "score": r.score} for r in rows]}

"""Import page (upload files of any registered format) and the JSON import/export endpoints.

Storing is ``api.services.importing.import_files`` (the one pipeline, formats from
``api.importers.registry``), run in the background by ``api.services.import_jobs``; this
module only carries files in and the job's progress and report out. The page previews
first: upload -> the job's page (``/import/jobs/{id}``, refreshing itself while the job
runs) shows the preview -> "Bevestigen" writes the previewed change set, "Annuleren"
stops the job. The API previews unless ``confirm=true`` and answers the report when the
job ends within ``wait`` seconds, else 202 with the job's address in ``Location``. Every
refused row or notice comes back with its place and reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial as bind
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, select

from api import access
from api.clock import today
from api.db import get_engine
from api.deps import (
    ApiUser,
    SessionDep,
    api_error,
    csrf_protect,
    flash,
    render,
    require_roles,
)
from api.errors import NotFound
from api.i18n import api_lang, request_lang, translate
from api.importers import registry
from api.importers.interchange import MAX_FILE_BYTES
from api.messages import msg, render_text, render_tree
from api.schemas import ERROR_RESPONSES
from api.serialize import challenge_doc, enterprise_doc, obligation_doc, tender_doc
from api.services import import_jobs, import_template
from api.services.import_report import page_of
from api.services.importing import ON_DUPLICATE, OnDuplicate
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow, User
from api.web.params import PageQuery

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["import/export"], responses=ERROR_RESPONSES)

MAX_FILES = 20
# Officers import their own organisation's published tenders; connectors and admins all.
ImportUser = Annotated[User, Depends(require_roles("officer", "connector", "admin"))]
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {202: {
    "description": "The import runs on: poll the job at `Location` "
                   "(`GET /api/v1/import/jobs/{job_id}`) for its progress and report"}}
WaitForm = Annotated[float, Form(ge=0, le=300, description=(
    "Seconds to wait for the import to end before answering 202 with the job's address "
    "(0: answer 202 at once)"))]


async def _read_uploads(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    if not files or all(not (f.filename or "").strip() for f in files):
        raise api_error(422, "Kies minstens één bestand", "files")
    if len(files) > MAX_FILES:
        raise api_error(422, msg("Hoogstens {max} bestanden tegelijk", max=MAX_FILES), "files")
    out = []
    for upload in files:
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise api_error(413, msg("{file} is groter dan {max} MB", file=upload.filename or "",
                                    max=MAX_FILE_BYTES // (1024 * 1024)), "files")
        out.append((upload.filename or "upload", data))
    return out


def _formats_for(user: User) -> list[registry.Format]:
    """The formats this user may import: officers only published tenders."""
    return [f for f in registry.FORMATS.values() if access.sees_all(user) or f.published]


def _only_buyer(user: User) -> str | None:
    # An officer imports for their own organisation only (access.py: officers see their
    # own buyer's tenders); connectors and admins import for anyone.
    return None if access.sees_all(user) else (user.organisation or "").strip()


def _form_context(session: Session, user: User, fmt: str, on_duplicate: str,
                  error: str | None = None, lang: str = "nl") -> dict[str, Any]:
    formats = _formats_for(user)
    if fmt not in {f.name for f in formats}:
        fmt = formats[0].name
    accept = sorted({x for f in formats for x in f.extensions + f.media_types})
    jobs = [import_jobs.view(j, lang=lang) for j in import_jobs.recent(session, user)]
    return {"formats": formats, "format": fmt, "choices": ON_DUPLICATE,
            "on_duplicate": on_duplicate, "accept": ",".join(accept), "error": error,
            "jobs": jobs}


@router.get("/import", include_in_schema=False)
def import_page(request: Request, user: ImportUser, session: SessionDep,
                format: Annotated[str, Query(max_length=40)] = registry.DEFAULT) -> Response:
    return render(request, "imports/import.html",
                  _form_context(session, user, format, "ask", lang=request_lang(request)))


@router.post("/import", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def import_upload(
    request: Request,
    user: ImportUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File()],
    on_duplicate: Annotated[str, Form()] = "ask",
    format: Annotated[str, Form(max_length=40)] = registry.DEFAULT,
    partial: Annotated[bool, Form()] = False,
) -> Response:
    """Keep the files with a new background job (``api.services.import_jobs``) that
    computes the preview, and go to its page; nothing is written until "Bevestigen"."""
    # A likely duplicate enterprise (new ref, same KvK or nearly the same name nearby):
    # reject the file and ask, merge, or keep both.
    choice: OnDuplicate = on_duplicate if on_duplicate in ON_DUPLICATE else "ask"  # type: ignore[assignment]
    allowed = {f.name for f in _formats_for(user)}
    error: str | None = None
    uploads: list[tuple[str, bytes]] = []
    if format not in allowed:
        error = "Kies een bestandsformaat uit de lijst"
    else:
        try:
            uploads = await _read_uploads(files)
        except Exception as exc:  # shown on the page beside the form, never as a trace
            detail = getattr(exc, "detail", None)
            if not isinstance(detail, dict):
                raise
            error = render_text(detail.get("message"), request_lang(request))
    if error:
        return render(request, "imports/import.html",
                      _form_context(session, user, format, choice, error,
                                    lang=request_lang(request)), status_code=422)
    job_id = await anyio.to_thread.run_sync(bind(
        import_jobs.submit, get_engine(), user, uploads, format=format, on_duplicate=choice,
        partial=partial, only_buyer=_only_buyer(user)))
    return RedirectResponse(f"/import/jobs/{job_id}", status_code=303)


@router.get("/import/template/{name}", include_in_schema=False)
def import_template_download(request: Request, user: ImportUser, name: str) -> Response:
    """The CSV template of one kind (``enterprises.csv`` …): the importer's own columns and
    an example row (``api.services.import_template``)."""
    kind = name.removesuffix(".csv")
    if not name.endswith(".csv") or kind not in import_template.EXAMPLES:
        raise NotFound(None, "Onbekend sjabloon: {name}.", name=name)
    text = import_template.template_csv(kind, request_lang(request))
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{import_template.filename(kind)}"'})


@router.get("/import/jobs/{job_id}", include_in_schema=False)
def import_job_page(request: Request, user: ImportUser, session: SessionDep, job_id: str,
                    page: PageQuery = 1) -> Response:
    """The job's progress while it runs (the page refreshes itself), then its preview
    with "Bevestigen", or what it wrote."""
    job = import_jobs.get(session, job_id, user)
    fmt = registry.FORMATS.get(job.format)
    return render(request, "imports/job.html", {
        "job": import_jobs.view(job, page, request_lang(request)), "page": page,
        "format_label": fmt.label if fmt else job.format})


@router.post("/import/jobs/{job_id}/confirm", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def import_job_confirm(request: Request, user: ImportUser, job_id: str) -> Response:
    """Write exactly the previewed change set (a file whose change set changed since is
    not written and says so)."""
    import_jobs.confirm(get_engine(), job_id, user)
    return RedirectResponse(f"/import/jobs/{job_id}", status_code=303)


@router.post("/import/jobs/{job_id}/cancel", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def import_job_cancel(request: Request, user: ImportUser, job_id: str) -> Response:
    job = import_jobs.cancel(get_engine(), job_id, user)
    if job.state == "cancelled":
        flash(request, "Import geannuleerd; er is niets opgeslagen.", "info")
    else:
        flash(request, "De import stopt; wat het bestand al deed wordt teruggedraaid.", "info")
    return RedirectResponse(f"/import/jobs/{job_id}", status_code=303)


# ------------------------------------------------------------------ API


def _job_url(job_id: str) -> str:
    return f"/api/v1/import/jobs/{job_id}"


async def _job_answer(user: User, job_id: str, page: int, wait: float,
                      lang: str = "nl") -> Response:
    """The report if the job ended within ``wait`` seconds, else 202 and where to look.
    Waiting is a sleep on the event loop: it holds up no one else."""
    deadline = time.monotonic() + wait
    engine = get_engine()
    # The job runs on a worker (api.services.jobs): its state is read every 0.1 s, off
    # the event loop.
    while time.monotonic() < deadline and await anyio.to_thread.run_sync(
            import_jobs.active, engine, job_id):
        await asyncio.sleep(0.1)

    def read() -> tuple[dict[str, Any], dict[str, Any] | None]:
        with Session(get_engine()) as s:
            job = import_jobs.get(s, job_id, user)
            view = import_jobs.view(job, page, lang)
            view["report"] = None
            return view, (render_tree(page_of(job.report, page, items=False), lang)
                          if job.report and job.state not in import_jobs.ACTIVE else None)

    view, report = await anyio.to_thread.run_sync(read)
    headers = {"Location": _job_url(job_id)}
    if view["state"] in import_jobs.ACTIVE:
        return JSONResponse(view, status_code=202, headers=headers)
    if view["state"] == "failed" and report is None:
        failed = translate("De import is mislukt: {error}", lang, error=view["error"])
        return JSONResponse({"detail": {"message": failed,
                                        "field": None}, "job": view},
                            status_code=500, headers=headers)
    return JSONResponse({**(report or {}), "job": view}, headers=headers)


@api_router.post(
    "/import", summary="Import interchange files (JSON or CSV): preview, then confirm",
    description="Without `confirm=true` nothing is written: the answer is the preview "
    "(`dry_run`: per file the records that would be new, changed with each field's "
    "[stored, file] values, merged, refused, and the likely duplicates; lists paged by "
    "`page`, 200 a page). With `confirm=true` the files are written; pass the preview's "
    "`fingerprint`s to write only if the change set is still the one previewed. The "
    "import runs in the background: if it takes longer than `wait` seconds the answer is "
    "202 with the job's address in `Location` (progress, then the report; "
    "`POST …/confirm` writes a preview, `DELETE` cancels).",
    responses=JOB_RESPONSES)
async def import_api(
    request: Request,
    user: ApiUser,
    files: Annotated[list[UploadFile], File(min_length=1, max_length=MAX_FILES,
                                            description="One or more interchange files")],
    on_duplicate: Annotated[OnDuplicate, Form(
        description="A likely duplicate enterprise: reject the file (ask), merge, keep both")]
    = "ask",
    confirm: Annotated[bool, Form(description="Write (default: preview only)")] = False,
    fingerprint: Annotated[list[str] | None, Form(
        description="With confirm: the preview's fingerprint of each file, in order")] = None,
    wait: WaitForm = 10,
    page: PageQuery = 1,
) -> Response:
    if not access.sees_all(user):
        raise api_error(403, "Alleen verbinders en beheerders kunnen importeren")
    uploads = await _read_uploads(files)
    job_id = await anyio.to_thread.run_sync(bind(
        import_jobs.submit, get_engine(), user, uploads, on_duplicate=on_duplicate,
        write=confirm, expect=fingerprint if confirm else None))
    return await _job_answer(user, job_id, page, wait, api_lang(request))


if TYPE_CHECKING:
    PublishedFormat = str
else:  # the registry's published formats, as an enum in the OpenAPI schema
    PublishedFormat = Literal[registry.names(published=True)]


@api_router.post(
    "/import/{fmt}",
    summary="Import published tenders (" + " or ".join(
        f.label for f in registry.FORMATS.values() if f.published) + ")",
    description=(
        "; ".join(f"`{f.name}`: {f.help}" for f in registry.FORMATS.values() if f.published)
        + ". Without `confirm=true` nothing is written: the answer is the preview (each "
        "notice's outcome as it would be). Tenders are created or updated by their "
        "published identifier. Every refused "
        "item is reported with its place and reason. Without "
        "`partial` a file with any refused item writes nothing; with `partial=true` the valid "
        "items are written. A detected Dutch social-return percentage is marked `detected` "
        "with the sentence it came from, for an officer to confirm. Runs in the "
        "background like `POST /api/v1/import` (`wait`, 202 and `Location`)."),
    responses={**JOB_RESPONSES, 200: {"content": {"application/json": {"example": {
        "ok": True, "files": [{"file": "release.json", "format": "ocds", "partial": False,
                               "written": True, "created": 1, "updated": 0, "unchanged": 0,
                               "stale": 0, "rejected": 0, "items": []}]}}}}},
)
async def import_published_api(
    request: Request,
    fmt: PublishedFormat,
    user: ApiUser,
    files: Annotated[list[UploadFile], File(min_length=1, max_length=MAX_FILES,
                                            description="One or more published tender files")],
    partial: Annotated[bool, Form(description="Write the valid items of a file that also "
                                               "holds refused ones")] = False,
    confirm: Annotated[bool, Form(description="Write (default: preview only)")] = False,
    wait: WaitForm = 10,
) -> Response:
    if user.role not in ("officer", "connector", "admin"):
        raise api_error(403, "Alleen inkopers, verbinders en beheerders kunnen aanbestedingen "
                             "importeren")
    uploads = await _read_uploads(files)
    job_id = await anyio.to_thread.run_sync(bind(
        import_jobs.submit, get_engine(), user, uploads, format=fmt, partial=partial,
        only_buyer=_only_buyer(user), write=confirm))
    return await _job_answer(user, job_id, 1, wait, api_lang(request))


@api_router.get("/import/jobs/{job_id}", summary="An import job: its progress and report",
                description="`state`: queued, running (`step`, `rows_done` of `rows_total`), "
                "preview_ready (the preview in `report`, `writable` if it may be confirmed), "
                "done, failed (`error`) or cancelled. The report's lists are paged by "
                "`page` (200 a page).")
def import_job_api(request: Request, user: ApiUser, session: SessionDep, job_id: str,
                   page: PageQuery = 1) -> dict[str, Any]:
    return import_jobs.view(import_jobs.get(session, job_id, user), page, api_lang(request))


@api_router.post("/import/jobs/{job_id}/confirm", status_code=202,
                 summary="Write a previewed import job",
                 description="Writes exactly the change set previewed (a file whose change set "
                 "changed since is not written and says so); answers 202, poll the job.")
def import_job_confirm_api(request: Request, user: ApiUser, job_id: str) -> JSONResponse:
    job = import_jobs.confirm(get_engine(), job_id, user)
    return JSONResponse(import_jobs.view(job, lang=api_lang(request)), status_code=202,
                        headers={"Location": _job_url(job_id)})


@api_router.delete("/import/jobs/{job_id}", summary="Cancel an import job",
                   description="A queued job or a preview ends at once (nothing written); a "
                   "running one stops within a second and rolls back the file it is on "
                   "(202 until it has).", responses={202: {"description": "Stopping"}})
def import_job_cancel_api(request: Request, user: ApiUser, job_id: str) -> JSONResponse:
    job = import_jobs.cancel(get_engine(), job_id, user)
    return JSONResponse(import_jobs.view(job, lang=api_lang(request)),
                        status_code=200 if job.state in import_jobs.ENDED else 202,
                        headers={"Location": _job_url(job_id)})


KIND_SOURCES: dict[str, tuple[Any, Any, Any]] = {
    "enterprises": (EnterpriseRow, enterprise_doc, access.visible_enterprises),
    "tenders": (TenderRow, tender_doc, access.visible_tenders),
    "challenges": (ChallengeRow, challenge_doc, None),
    "obligations": (ObligationRow, obligation_doc, access.visible_obligations),
}


def export_document(user: User, kinds: list[str]) -> Any:
    """Stream one interchange JSON document (kinds in order), scoped to what user may see.

    Its own session: the stream outlives the request's session dependency."""
    with Session(get_engine()) as session:
        yield from _export_rows(session, user, kinds)


def _export_rows(session: Session, user: User, kinds: list[str]) -> Any:
    yield "{"
    for i, kind in enumerate(kinds):
        table, to_dict, visible = KIND_SOURCES[kind]
        stmt: Any = select(table).order_by(table.ref)
        if visible is not None:
            stmt = visible(user, stmt)
        yield ("," if i else "") + f"\n  {json.dumps(kind)}: ["
        first = True
        for row in session.exec(stmt.execution_options(yield_per=500)):
            yield ("\n    " if first else ",\n    ") + json.dumps(to_dict(row),
                                                               ensure_ascii=False)
            first = False
        yield "\n  ]"
    yield "\n}\n"


@api_router.get("/export", summary="Export as one interchange JSON document",
                response_class=StreamingResponse,
                responses={200: {"content": {"application/json": {}}}})
def export_api(
    user: ApiUser,
    kind: Annotated[list[Literal["enterprises", "tenders", "challenges", "obligations"]] | None,
                    Query(description="Limit to these kinds (repeatable)")] = None,
) -> StreamingResponse:
    kinds = [k for k in KIND_SOURCES if not kind or k in kind]
    stamp = today().isoformat()
    disposition = f'attachment; filename="sroi-{stamp}.json"'
    return StreamingResponse(export_document(user, kinds), media_type="application/json",
                             headers={"Content-Disposition": disposition})

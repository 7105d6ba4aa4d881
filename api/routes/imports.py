"""Import page (upload interchange files) and the JSON import/export endpoints.

Storing is ``api.services.importing.import_files`` (the one pipeline, formats from
``api.importers.registry``); this module only carries files in and the report out. The
page previews first: upload -> preview (kept in ``api.web.upload_store``) -> "Bevestigen"
writes the previewed change set, "Annuleren" discards it. The API previews unless
``confirm=true``. Every
refused row or notice comes back with its place and reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, select

from api import access
from api.clock import today
from api.db import get_engine
from api.deps import (
    ApiUser,
    ConnectorUser,
    SessionDep,
    api_error,
    csrf_protect,
    flash,
    render,
)
from api.importers import registry
from api.importers.interchange import MAX_FILE_BYTES
from api.schemas import ERROR_RESPONSES
from api.serialize import challenge_doc, enterprise_doc, obligation_doc, tender_doc
from api.services.importing import ON_DUPLICATE, OnDuplicate, import_files
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow, User
from api.web import upload_store
from api.web.params import PageQuery

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["import/export"], responses=ERROR_RESPONSES)

MAX_FILES = 20


async def _read_uploads(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    if not files or all(not (f.filename or "").strip() for f in files):
        raise api_error(422, "Kies minstens één bestand", "files")
    if len(files) > MAX_FILES:
        raise api_error(422, f"Hoogstens {MAX_FILES} bestanden tegelijk", "files")
    out = []
    for upload in files:
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise api_error(413, f"{upload.filename} is groter dan "
                                 f"{MAX_FILE_BYTES // (1024 * 1024)} MB", "files")
        out.append((upload.filename or "upload", data))
    return out


def _upload_choices() -> dict[str, Any]:
    """What the page offers: the interchange format's extensions and media types."""
    fmt = registry.get(registry.DEFAULT)
    return {"choices": ON_DUPLICATE, "accept": ",".join(fmt.extensions + fmt.media_types)}


@router.get("/import", include_in_schema=False)
def import_page(request: Request, user: ConnectorUser) -> Response:
    return render(request, "imports/import.html", {"report": None, "on_duplicate": "ask",
                                                   **_upload_choices()})


@router.post("/import", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def import_upload(
    request: Request,
    user: ConnectorUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File()],
    on_duplicate: Annotated[str, Form()] = "ask",
) -> Response:
    """Step 1: keep the files server-side (``api.web.upload_store``) and show the preview;
    nothing is written until "Bevestigen"."""
    # A likely duplicate enterprise (new ref, same KvK or nearly the same name nearby):
    # reject the file and ask, merge, or keep both.
    choice: OnDuplicate = on_duplicate if on_duplicate in ON_DUPLICATE else "ask"  # type: ignore[assignment]
    try:
        uploads = await _read_uploads(files)
    except Exception as exc:  # shown on the page beside the form, never as a trace
        detail = getattr(exc, "detail", None)
        if not isinstance(detail, dict):
            raise
        return render(request, "imports/import.html", {
            "report": None, "error": detail.get("message"), "on_duplicate": choice,
            **_upload_choices()}, status_code=422)
    upload_store.save(request, uploads, choice)
    return _preview(request, session, 1)


@router.get("/import/preview", include_in_schema=False)
def import_preview(request: Request, user: ConnectorUser, session: SessionDep,
                   page: PageQuery = 1) -> Response:
    return _preview(request, session, page)


def _preview(request: Request, session: Session, page: int) -> Response:
    upload = upload_store.load(request)
    if upload is None:
        flash(request, "Er staat geen import klaar; kies de bestanden opnieuw.", "info")
        return RedirectResponse("/import", status_code=303)
    choice: OnDuplicate = upload.on_duplicate  # type: ignore[assignment]
    report = import_files(session, upload.files, choice, dry_run=True)
    upload_store.remember_preview(request, report.fingerprints)
    status = 200 if report.ok else 422
    return render(request, "imports/preview.html", {
        "report": report.to_dict(page), "page": page, "on_duplicate": choice,
        "writable": report.ok and not report.has_duplicates}, status_code=status)


@router.post("/import/confirm", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def import_confirm(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    """Step 2: write exactly the previewed change set (a file whose change set changed
    since is not written and says so)."""
    upload = upload_store.load(request)
    if upload is None:
        flash(request, "Er staat geen import klaar; kies de bestanden opnieuw.", "info")
        return RedirectResponse("/import", status_code=303)
    choice: OnDuplicate = upload.on_duplicate  # type: ignore[assignment]
    report = import_files(session, upload.files, choice, expect=upload.fingerprints)
    upload_store.discard(request)
    return render(request, "imports/import.html", {
        "report": report.to_dict(), "error": None, "on_duplicate": choice,
        **_upload_choices()}, status_code=200 if report.ok else 422)


@router.post("/import/cancel", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def import_cancel(request: Request, user: ConnectorUser) -> Response:
    upload_store.discard(request)
    flash(request, "Import geannuleerd; er is niets opgeslagen.", "info")
    return RedirectResponse("/import", status_code=303)


@api_router.post(
    "/import", summary="Import interchange files (JSON or CSV): preview, then confirm",
    description="Without `confirm=true` nothing is written: the answer is the preview "
    "(`dry_run`: per file the records that would be new, changed with each field's "
    "[stored, file] values, merged, refused, and the likely duplicates; lists paged by "
    "`page`, 200 a page). With `confirm=true` the files are written; pass the preview's "
    "`fingerprint`s to write only if the change set is still the one previewed.")
async def import_api(
    user: ApiUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="One or more interchange files")],
    on_duplicate: Annotated[OnDuplicate, Form(
        description="A likely duplicate enterprise: reject the file (ask), merge, keep both")]
    = "ask",
    confirm: Annotated[bool, Form(description="Write (default: preview only)")] = False,
    fingerprint: Annotated[list[str] | None, Form(
        description="With confirm: the preview's fingerprint of each file, in order")] = None,
    page: PageQuery = 1,
) -> dict[str, Any]:
    if not access.sees_all(user):
        raise api_error(403, "Alleen verbinders en beheerders kunnen importeren")
    uploads = await _read_uploads(files)
    return import_files(session, uploads, on_duplicate, dry_run=not confirm,
                        expect=fingerprint if confirm else None).to_dict(page)


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
        "with the sentence it came from, for an officer to confirm."),
    responses={200: {"content": {"application/json": {"example": {
        "ok": True, "files": [{"file": "release.json", "format": "ocds", "partial": False,
                               "written": True, "created": 1, "updated": 0, "unchanged": 0,
                               "stale": 0, "rejected": 0, "items": []}]}}}}},
)
async def import_published_api(
    fmt: PublishedFormat,
    user: ApiUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="One or more published tender files")],
    partial: Annotated[bool, Form(description="Write the valid items of a file that also "
                                               "holds refused ones")] = False,
    confirm: Annotated[bool, Form(description="Write (default: preview only)")] = False,
) -> dict[str, Any]:
    if user.role not in ("officer", "connector", "admin"):
        raise api_error(403, "Alleen inkopers, verbinders en beheerders kunnen aanbestedingen "
                             "importeren")
    uploads = await _read_uploads(files)
    # An officer imports for their own organisation only (access.py: officers see their
    # own buyer's tenders); connectors and admins import for anyone.
    only_buyer = None if access.sees_all(user) else (user.organisation or "").strip()
    return import_files(session, uploads, format=fmt, partial=partial,
                        only_buyer=only_buyer, dry_run=not confirm).to_dict()


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

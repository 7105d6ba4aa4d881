"""Import page (upload interchange files) and the JSON import/export endpoints.

Storing is the foundation's ``api.services.importing.import_files(session, files,
on_duplicate)``; this module only carries files in and the report out. A file is
imported whole or not at all, and every refused row comes back with its place and reason.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session, select

from api import access
from api.clock import today
from api.db import get_engine
from api.deps import ApiUser, ConnectorUser, SessionDep, api_error, csrf_protect, render
from api.importers.interchange import MAX_FILE_BYTES
from api.schemas import ERROR_RESPONSES
from api.serialize import challenge_doc, enterprise_doc, obligation_doc, tender_doc
from api.services.importing import OnDuplicate, import_files
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow, User

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["import/export"], responses=ERROR_RESPONSES)

# api.services.importing's choices for a likely duplicate enterprise (new ref, same KvK
# or nearly the same name nearby): reject the file and ask, merge, or keep both.
DUPLICATE_CHOICES = ("ask", "merge", "keep-both")
MAX_FILES = 20


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def report_dict(report: Any) -> dict[str, Any]:
    """The import report as plain JSON, whatever object the service returns."""
    if hasattr(report, "to_dict"):
        return _jsonable(report.to_dict())  # type: ignore[no-any-return]
    data = _jsonable(report)
    return data if isinstance(data, dict) else {"result": data}


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


def _run_import(session: Session, files: list[tuple[str, bytes]], on_duplicate: str
                ) -> dict[str, Any]:
    # import_files checks the choice itself (an unknown one is refused, not guessed).
    report = import_files(session, files, cast(OnDuplicate, on_duplicate))
    return report_dict(report)


@router.get("/import", include_in_schema=False)
def import_page(request: Request, user: ConnectorUser) -> Response:
    return render(request, "imports/import.html", {"report": None, "on_duplicate": "ask",
                                                   "choices": DUPLICATE_CHOICES})


@router.post("/import", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def import_upload(
    request: Request,
    user: ConnectorUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File()],
    on_duplicate: Annotated[str, Form()] = "ask",
) -> Response:
    if on_duplicate not in DUPLICATE_CHOICES:
        on_duplicate = "ask"
    error = None
    report = None
    try:
        uploads = await _read_uploads(files)
        report = _run_import(session, uploads, on_duplicate)
    except Exception as exc:  # shown on the page beside the form, never as a trace
        detail = getattr(exc, "detail", None)
        if not isinstance(detail, dict):
            raise
        error = detail.get("message")
    status = 200 if error is None and (report or {}).get("ok", True) else 422
    return render(request, "imports/import.html", {
        "report": report, "error": error, "on_duplicate": on_duplicate,
        "choices": DUPLICATE_CHOICES}, status_code=status)


@api_router.post("/import", summary="Import interchange files (JSON or CSV)")
async def import_api(
    user: ApiUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="One or more interchange files")],
    on_duplicate: Annotated[Literal["ask", "merge", "keep-both"], Form(
        description="A likely duplicate enterprise: reject the file (ask), merge, keep both")]
    = "ask",
) -> dict[str, Any]:
    if not access.sees_all(user):
        raise api_error(403, "Alleen verbinders en beheerders kunnen importeren")
    uploads = await _read_uploads(files)
    return _run_import(session, uploads, on_duplicate)


PUBLISHED_FORMATS = ("ocds", "eforms")


@api_router.post(
    "/import/{fmt}",
    summary="Import published tenders (OCDS or eForms)",
    description=(
        "`ocds`: release packages, record packages or JSON Lines of releases; `eforms`: one UBL "
        "XML notice per file (PIN, CN, CAN). Tenders are created or updated by OCID / "
        "procedure id. Every refused item is reported with its place and reason. Without "
        "`partial` a file with any refused item writes nothing; with `partial=true` the valid "
        "items are written. A detected Dutch social-return percentage is marked `detected` "
        "with the sentence it came from, for an officer to confirm."),
    responses={200: {"content": {"application/json": {"example": {
        "ok": True, "files": [{"file": "release.json", "format": "ocds", "partial": False,
                               "written": True, "created": 1, "updated": 0, "unchanged": 0,
                               "stale": 0, "rejected": 0, "items": []}]}}}}},
)
async def import_published_api(
    fmt: Literal["ocds", "eforms"],
    user: ApiUser,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="One or more published tender files")],
    partial: Annotated[bool, Form(description="Write the valid items of a file that also "
                                               "holds refused ones")] = False,
) -> dict[str, Any]:
    if user.role not in ("officer", "connector", "admin"):
        raise api_error(403, "Alleen inkopers, verbinders en beheerders kunnen aanbestedingen "
                             "importeren")
    from api.services.published import import_eforms_bytes, import_ocds_bytes

    importer = import_ocds_bytes if fmt == "ocds" else import_eforms_bytes
    uploads = await _read_uploads(files)
    # An officer imports for their own organisation only (access.py: officers see their
    # own buyer's tenders); connectors and admins import for anyone.
    only_buyer = None if access.sees_all(user) else (user.organisation or "").strip()
    reports = [importer(session, data, name, partial, only_buyer) for name, data in uploads]
    return {"ok": all(r.ok for r in reports), "files": [_jsonable(r.to_dict()) for r in reports]}


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

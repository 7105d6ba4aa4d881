"""Generic JSON CRUD over one entity kind, with the access rules as hooks.

Bodies are interchange entities (api/schemas.py). Validation goes through the
file importer's checks (``api.importers.interchange.parse_file`` on a one-entity
document), so the API and ``sroi import`` accept and refuse exactly the same things.
PATCH merges the change into the stored entity (as interchange) and validates the
whole, so a PATCH can never leave an entity that an import would refuse.

No ``from __future__ import annotations`` here: the endpoints are built in a
factory and FastAPI must see the real body types of each resource.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, col, select

from api.clock import utcnow
from api.deps import ApiUser, SessionDep, api_error
from api.importers import registry
from api.messages import Message, msg
from api.schemas import ERROR_RESPONSES, Page
from api.services.free_text import clean_text
from api.tables import User
from api.web.params import PageQuery

ERRORS = ERROR_RESPONSES


def entity_errors(kind: str, payload: dict[str, Any]
                  ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(column values, []) for a valid interchange entity, else (None, [{message, field}])
    with every refusal of the file importer, by field (web forms show them beside it)."""
    doc = json.dumps({kind: [payload]}, default=str).encode("utf-8")
    parsed = registry.parse_interchange("request.json", doc)
    if parsed.issues:
        errors = []
        prefix = f"{kind}[0]"
        for issue in parsed.issues:
            loc = issue.location
            field = loc[len(prefix):].lstrip(".") if loc.startswith(prefix) else issue.field
            # Rendered in the client's language by the app's error handler.
            message = msg("{reason} — {fix}", reason=issue.reason, fix=issue.fix) \
                if issue.fix else issue.reason
            errors.append({"message": message, "field": field or issue.field})
        return None, errors
    records = parsed.records[kind]
    if not records:  # parse_file reports every refusal, so this is a safety net
        return None, [{"message": "Ongeldige invoer", "field": None}]
    return dict(records[0].values), []


def validate_entity(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Column values for one interchange entity, or a 422 naming the first bad field."""
    values, errors = entity_errors(kind, payload)
    if values is None:
        raise HTTPException(status_code=422, detail={**errors[0], "errors": errors})
    return values


# Dates that must not come before another (the later one names the error). A PATCH that
# changes one of a pair and clashes with the other as stored is a conflict with the stored
# state (409); with both in the request, or with a PUT or POST, the request is wrong (422).
ORDERED_PAIRS = {"end": "start", "deadline": "opened_on"}


def validate_patch(kind: str, merged: dict[str, Any], changes: dict[str, Any]
                   ) -> dict[str, Any]:
    """validate_entity for a PATCH's merged document (see ORDERED_PAIRS)."""
    values, errors = entity_errors(kind, merged)
    if values is not None:
        return values
    stored_pair = all(
        e.get("field") in ORDERED_PAIRS
        and (e["field"] in changes) != (ORDERED_PAIRS[e["field"]] in changes)
        for e in errors)
    raise HTTPException(status_code=409 if stored_pair else 422,
                        detail={**errors[0], "errors": errors})


def clean_payload(model: BaseModel, exclude_unset: bool = False) -> dict[str, Any]:
    """A schema instance as an interchange dict (ISO dates, absent fields left out)."""
    data = model.model_dump(mode="json", exclude_unset=exclude_unset)
    return {k: v for k, v in data.items() if v is not None or exclude_unset}


def _finite(values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise api_error(422, "Getal moet eindig zijn", key)


@dataclass
class Resource:
    kind: str  # interchange kind: enterprises | tenders | challenges | obligations
    path: str  # "/enterprises"
    table: type[SQLModel]
    schema_create: type[BaseModel]  # POST: the ref is required
    schema_in: type[BaseModel]  # PUT: the ref is the path's
    schema_patch: type[BaseModel]
    schema_out: type[BaseModel]
    label: str  # Dutch noun for messages: "Onderneming"
    to_interchange: Callable[[Any], dict[str, Any]]
    to_out: Callable[[Any], dict[str, Any]]
    visible: Callable[[User, Any], Any]
    can_see: Callable[[Session, User, Any], bool]
    # Return None when allowed, else (status, message, field).
    check_write: Callable[[Session, User, dict[str, Any], Any | None], tuple[int, str, str | None]
                          | None]
    check_delete: Callable[[Session, User, Any], tuple[int, str, str | None] | None]
    search_columns: tuple[str, ...] = ("ref",)
    after_write: Callable[[Session, User, Any, dict[str, Any] | None], None] | None = None
    # Likely duplicates of a new entity (the import's check), as JSON; a create with any
    # answers 409 with them unless the caller says to keep both.
    duplicates: Callable[[Session, dict[str, Any]], list[dict[str, Any]]] | None = None


def _deny(result: tuple[int, str, str | None] | None) -> None:
    if result is not None:
        status, message, field = result
        raise api_error(status, message, field)


def build_router(res: Resource) -> APIRouter:
    router = APIRouter(prefix=res.path, tags=[res.kind], responses=ERRORS)
    table = res.table
    ref_col = table.ref  # type: ignore[attr-defined]

    def get_row(session: Session, user: User, ref: str) -> Any:
        row = session.exec(select(table).where(ref_col == ref)).first()
        if row is None or not res.can_see(session, user, row):
            raise api_error(404, msg("{kind} {ref} niet gevonden", kind=Message(res.label),
                                    ref=repr(ref)), "ref")
        return row

    def store(session: Session, user: User, row: Any, values: dict[str, Any],
              before: dict[str, Any] | None) -> Any:
        _finite(values)
        for key, value in values.items():
            if hasattr(row, key) and key not in ("id", "created_at"):
                setattr(row, key, value)
        row.updated_at = utcnow()
        session.add(row)
        if res.after_write is not None:
            res.after_write(session, user, row, before)
        session.commit()
        session.refresh(row)
        return row

    PageOut = Page[res.schema_out]  # type: ignore[name-defined]

    @router.get("", response_model=PageOut, summary=f"List {res.kind}")
    def list_items(
        user: ApiUser,
        session: SessionDep,
        page: PageQuery = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
        q: Annotated[str | None, Query(description="Text in ref/name/title")] = None,
    ) -> dict[str, Any]:
        stmt = res.visible(user, select(table))
        count_stmt = res.visible(user, select(func.count()).select_from(table))
        q = clean_text(q)  # without NUL: PostgreSQL refuses one (a 500), and it finds nothing
        if q:
            cond = or_(*[col(getattr(table, c)).ilike(f"%{q}%") for c in res.search_columns])
            stmt = stmt.where(cond)
            count_stmt = count_stmt.where(cond)
        total = int(session.exec(count_stmt).one())
        rows = session.exec(stmt.order_by(ref_col).offset((page - 1) * per_page)
                            .limit(per_page)).all()
        return {"items": [res.to_out(r) for r in rows], "total": total, "page": page,
                "per_page": per_page, "pages": max(1, math.ceil(total / per_page))}

    @router.get("/{ref:path}", response_model=res.schema_out, summary=f"Get one of {res.kind}")
    def get_item(ref: str, user: ApiUser, session: SessionDep) -> dict[str, Any]:
        return res.to_out(get_row(session, user, ref))

    @router.post("", response_model=res.schema_out, status_code=201,
                 summary=f"Create one of {res.kind}")
    def create_item(
        request: Request, response: Response, user: ApiUser, session: SessionDep,
        body: Annotated[res.schema_create, Body()],  # type: ignore[name-defined]
        on_duplicate: Annotated[Literal["ask", "keep-both"], Query(
            description="A likely duplicate (same KvK, nearly the same name nearby): "
                        "answer 409 with the candidates (ask) or create it anyway")] = "ask",
    ) -> dict[str, Any]:
        payload = clean_payload(body)
        if not payload.get("ref"):
            raise api_error(422, "ref is verplicht", "ref")
        values = validate_entity(res.kind, payload)
        _deny(res.check_write(session, user, values, None))
        if session.exec(select(table).where(ref_col == values["ref"])).first() is not None:
            raise api_error(409, msg("{kind} {ref} bestaat al; gebruik PUT of PATCH om te "
                                    "wijzigen", kind=Message(res.label),
                                    ref=repr(values["ref"])), "ref")
        if res.duplicates is not None and on_duplicate == "ask":
            candidates = res.duplicates(session, values)
            if candidates:
                raise HTTPException(status_code=409, detail={
                    "message": msg("{kind} lijkt op {n} bestaande; kies on_duplicate=keep-both "
                                  "om toch aan te maken", kind=Message(res.label),
                                  n=len(candidates)),
                    "field": "name", "candidates": candidates})
        row = store(session, user, table(**{k: v for k, v in values.items()
                                            if k in table.model_fields}), {}, None)
        # Percent-encoded: a header is Latin-1, a ref any text.
        response.headers["Location"] = f"{request.url.path}/{quote(row.ref, safe='')}"
        return res.to_out(row)

    @router.put("/{ref:path}", response_model=res.schema_out,
                summary=f"Replace one of {res.kind}")
    def replace_item(
        ref: str, user: ApiUser, session: SessionDep,
        body: Annotated[res.schema_in, Body()],  # type: ignore[name-defined]
    ) -> dict[str, Any]:
        row = get_row(session, user, ref)
        payload = clean_payload(body)
        if payload.get("ref") not in (None, ref):
            raise api_error(422, "ref in de body verschilt van de ref in het pad", "ref")
        payload["ref"] = ref
        values = validate_entity(res.kind, payload)
        _deny(res.check_write(session, user, values, row))
        before = res.to_interchange(row)
        return res.to_out(store(session, user, row, values, before))

    @router.patch("/{ref:path}", response_model=res.schema_out,
                  summary=f"Change some fields of one of {res.kind}")
    def patch_item(
        ref: str, user: ApiUser, session: SessionDep,
        body: Annotated[res.schema_patch, Body()],  # type: ignore[name-defined]
    ) -> dict[str, Any]:
        row = get_row(session, user, ref)
        before = res.to_interchange(row)
        merged = dict(before)
        changes = clean_payload(body, exclude_unset=True)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        if "municipality" in changes and "lat" not in changes and "lon" not in changes:
            # A new municipality moves the place: its centroid replaces the old coordinates.
            merged.pop("lat", None)
            merged.pop("lon", None)
        values = validate_patch(res.kind, merged, changes)
        _deny(res.check_write(session, user, values, row))
        return res.to_out(store(session, user, row, values, before))

    @router.delete("/{ref:path}", status_code=204, summary=f"Delete one of {res.kind}",
                   response_class=Response)
    def delete_item(ref: str, user: ApiUser, session: SessionDep) -> Response:
        row = get_row(session, user, ref)
        _deny(res.check_delete(session, user, row))
        session.delete(row)
        session.commit()
        return Response(status_code=204)

    return router


__all__ = ["Resource", "build_router", "clean_payload", "entity_errors", "validate_entity",
           "Depends"]

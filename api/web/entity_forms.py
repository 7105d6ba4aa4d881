"""What the enterprise and obligation form pages share (``api.services.entity_edit`` does
the checking and writing): the posted inputs, and the errors and likely duplicates in the
page's language."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from api.errors import DomainError
from api.i18n import request_lang, translator
from api.services import entity_edit
from api.services.import_report import DuplicatePair


async def posted(request: Request, kind: str) -> tuple[dict[str, Any], bool]:
    """The form's inputs and whether the user chose to keep a likely duplicate anyway."""
    data = await request.form()
    keep_both = str(data.get("keep_both") or "") in ("1", "on", "true")
    return entity_edit.read_form(kind, data), keep_both


def error_texts(request: Request, errors: entity_edit.FormErrors) -> dict[str, str]:
    t = translator(request_lang(request))
    return {name: t(message, **params) for name, (message, params) in errors.items()}


def refusal(exc: DomainError) -> entity_edit.FormErrors:
    """A refusal (``api.access``) shown beside its field, or above the form."""
    return {exc.field or entity_edit.GENERAL: (exc.message, dict(exc.params))}


def duplicate_rows(pairs: list[DuplicatePair]) -> list[dict[str, Any]]:
    return [{"ref": p.existing_ref, "name": p.existing_name, "kvk": p.reason == "kvk",
             "score": p.score} for p in pairs]

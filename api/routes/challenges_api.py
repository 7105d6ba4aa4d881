"""JSON CRUD for Challenges: /api/v1/challenges.

Challenges are public calls, so every user may read them; connectors and admins
write, and an officer may write the Challenges of their own municipality.

A status changed through PATCH is appended to the Challenge's status history, as on
the board (``api.routes.challenges``, which also serves ``/{ref}/matches`` and
``/{ref}/status`` and is mounted first so ``/{ref:path}`` here does not swallow them).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api import access
from api.crud import Resource, build_router
from api.schemas import ChallengeCreate, ChallengeIn, ChallengeOut, ChallengePatch
from api.serialize import challenge_doc, challenge_out
from api.services.challenge_board import record_crud_status_change
from api.tables import ChallengeRow, User

Denial = tuple[int, str, str | None] | None


def _visible(user: User, stmt: Any) -> Any:
    return stmt


def _can_see(session: Session, user: User, row: ChallengeRow) -> bool:
    return True


def _check_write(session: Session, user: User, values: dict[str, Any],
                 row: ChallengeRow | None) -> Denial:
    if access.sees_all(user):
        return None
    if user.role == "officer":
        own = access.officer_municipality_code(user)
        if own and values.get("municipality_code") == own and (
                row is None or row.municipality_code == own):
            return None
        return (403, "U kunt alleen challenges van uw eigen gemeente invoeren of wijzigen",
                "municipality")
    return (403, "Alleen verbinders en inkopers van de gemeente kunnen challenges wijzigen", None)


def _check_delete(session: Session, user: User, row: ChallengeRow) -> Denial:
    if not access.sees_all(user):
        return (403, "Alleen verbinders en beheerders kunnen verwijderen", None)
    return None


resource = Resource(
    kind="challenges", path="/challenges", table=ChallengeRow, schema_create=ChallengeCreate,
    schema_in=ChallengeIn,
    schema_patch=ChallengePatch, schema_out=ChallengeOut, label="Challenge",
    to_interchange=challenge_doc, to_out=challenge_out, visible=_visible,
    can_see=_can_see, check_write=_check_write, check_delete=_check_delete,
    search_columns=("ref", "title"), after_write=record_crud_status_change,
)
api_router = build_router(resource)

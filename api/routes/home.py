"""The landing page: per role, what there is to do next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import func, select

from api.access import visible_obligations, visible_tenders
from api.clock import today
from api.deps import CurrentUser, SessionDep, render
from api.services.vetting_flow import validly_vetted
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow

router = APIRouter(tags=["pages"])


@router.get("/", include_in_schema=False)
def home(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    def count(stmt: object) -> int:
        return int(session.exec(stmt).one())  # type: ignore[call-overload]

    stats = {
        "tenders": count(visible_tenders(user, select(func.count()).select_from(TenderRow))),
        "obligations": count(visible_obligations(
            user, select(func.count()).select_from(ObligationRow))),
        "open_obligations": count(visible_obligations(
            user, select(func.count()).select_from(ObligationRow)
            .where(ObligationRow.status == "open"))),
        # Validly vetted today: an expired vetting is not counted as "gescreend".
        "enterprises": count(select(func.count()).select_from(EnterpriseRow)
                             .where(validly_vetted(today()))),
        "pending": count(select(func.count()).select_from(EnterpriseRow)
                         .where(EnterpriseRow.vetting_status == "pending")),
        "challenges": count(select(func.count()).select_from(ChallengeRow)
                            .where(ChallengeRow.status != "closed")),
        "drafts": count(visible_tenders(user, select(func.count()).select_from(TenderRow)
                                        .where(TenderRow.status == "draft"))),
    }
    return render(request, "home.html", {"stats": stats})

"""Notifications (``/meldingen``): the user's list, unread first, and marking them read.
What is reported and for whom: ``api.services.notifications``.

GET  /meldingen           the list (the header shows the unread count on every page)
POST /meldingen/gelezen   mark one (``key``) or all shown (``all=1``) as read
GET  /api/v1/notifications  the same list as JSON, in the caller's language
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api import i18n
from api.deps import ApiUser, CurrentUser, SessionDep, csrf_protect, flash, render
from api.i18n import N_
from api.services import notifications

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/notifications", tags=["notifications"])

KIND_NL = {
    "vetting_expiring": N_("Screening verloopt"),
    "certificate_expiring": N_("Keurmerk verloopt"),
    "deadline_passed": N_("Deadline verstreken"),
    "new_proposals": N_("Nieuwe voorstellen"),
    "plan_committed": N_("Plan vastgelegd"),
}


def _text(n: notifications.Notification, lang: str) -> str:
    params = {k: i18n.format_date(v, "long", lang) if isinstance(v, date) else v
              for k, v in n.params.items()}
    return i18n.translate(n.message, lang, **params)


def _item(n: notifications.Notification, lang: str) -> dict[str, Any]:
    return {"key": n.key, "kind": n.kind, "label": i18n.translate(KIND_NL[n.kind], lang),
            "text": _text(n, lang), "href": n.href, "on": n.on, "read": n.read}


@router.get("/meldingen")
def notifications_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    lang = i18n.request_lang(request)
    items = [_item(n, lang) for n in notifications.for_user(session, user)]
    return render(request, "notifications.html", {
        "items": items, "unread": sum(1 for i in items if not i["read"])})


@router.post("/meldingen/gelezen", dependencies=[Depends(csrf_protect)])
async def mark_read(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await request.form()
    if str(form.get("all") or "") == "1":
        keys = [n.key for n in notifications.for_user(session, user) if not n.read]
    else:
        keys = [str(k) for k in form.getlist("key")]
    marked = notifications.mark_read(session, user, keys)
    if marked:
        flash(request, "Gemarkeerd als gelezen.")
    target = "/meldingen" + (f"?lang={request.query_params['lang']}"
                             if request.query_params.get("lang") in i18n.LANGUAGES else "")
    return RedirectResponse(target, status_code=303)


@api_router.get("", summary="The user's notifications, unread first")
def notifications_api(request: Request, user: ApiUser,
                      session: SessionDep) -> list[dict[str, Any]]:
    lang = i18n.api_lang(request)
    return [{**_item(n, lang), "on": n.on.isoformat() if n.on else None}
            for n in notifications.for_user(session, user)]

"""``/health``: is this process serving, does the database answer, and which backend keeps
the state shared by the web processes (``api.shared_state``) — for a load balancer's check
and for an operator after a start-up message about Redis; ``render_cache`` says where the
rendered fragments shared by the processes live (redis, database, none)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import shared_state
from api.db import get_engine
from api.services import render_cache

router = APIRouter(tags=["health"])


@router.get("/health", include_in_schema=False)
def health() -> JSONResponse:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # the check's answer, not a 500: say what failed
        database = f"unreachable ({type(exc).__name__})"
    shared = shared_state.status()
    # The render cache's level shared by the processes (api.services.shared_cache).
    shared["render_cache"] = render_cache.shared_level()
    degraded = database != "ok" or shared["redis"] not in ("ok", "not configured")
    body = {"status": "degraded" if degraded else "ok", "database": database,
            "shared_state": shared}
    # 503 only when requests cannot be served; a database-kept rate limit serves fine.
    return JSONResponse(body, status_code=200 if database == "ok" else 503,
                        headers={"Cache-Control": "no-store"})

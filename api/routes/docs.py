"""The API documentation page (``/api/docs``): Swagger UI served from this app.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script;
both are refused here — the Content-Security-Policy allows only our own scripts, and the
product must work offline (many municipal networks have no route to a CDN). So the page
is ours: Swagger UI's files (version 5, which reads the OpenAPI 3.1 that FastAPI writes)
come from the ``fastapi-offline`` package's ``static`` folder (mounted at ``ASSETS`` by
``api.app``; we use its files only, not its page, which starts Swagger UI with an inline
script), the start-up code from ``/static/api-docs.js``.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import render

ASSETS = "/api/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
OPENAPI_URL = "/api/openapi.json"

router = APIRouter(include_in_schema=False)


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return render(request, "api_docs.html",
                  {"assets": ASSETS, "openapi_url": OPENAPI_URL})

"""The accessibility statement (``/toegankelijkheid``), public, linked from every footer.

Dutch public bodies publish one per website or application in the form of the model
statement of the Besluit digitale toegankelijkheid overheid (status A–E, the research
behind it, what is not yet accessible, how to report a problem). The figures below are
those of the audit in ``tests/browser/test_accessibility.py``; update them when it is run
again with a wider scope (e.g. an independent WCAG-EM evaluation).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import render

router = APIRouter(include_in_schema=False)

# The last audit, as run by the browser tests (CI runs it on every change to main).
AUDIT: dict[str, Any] = {
    "date": date(2026, 12, 3),
    "standard": "WCAG 2.1 AA (EN 301 549)",
    "tool": "axe-core 4.12 in Chromium",
    "roles": 4,
    "languages": 2,
    "widths": (1280, 390),
    "violations": 0,
    # Model status C: our own automated audit and keyboard test pass; an evaluation by an
    # independent expert (WCAG-EM, all 50 success criteria by hand) has not been done yet,
    # which status A or B requires.
    "status": "C",
}


@router.get("/toegankelijkheid", response_class=HTMLResponse)
def accessibility_statement(request: Request) -> HTMLResponse:
    return render(request, "accessibility.html", {"audit": AUDIT})

"""PDF downloads: a report page (a Jinja2 template rendered from the same context as the
screen page, so the numbers are the page's) turned into PDF by WeasyPrint.

WeasyPrint lays out HTML and CSS for paged media itself (no browser); it needs the Pango
library of the operating system (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``, installed by
``.ci/run``). Without it the import fails: ``unavailable()`` says why and the routes answer
the PDF link with a clear page (503) instead of an error; printing the page from the
browser (the print stylesheet) still works.

Nothing is fetched while rendering: the report carries its stylesheet inline and only
``data:`` URLs are allowed, so a report never reaches the network or the file system.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi.responses import Response
from starlette.requests import Request

from api.i18n import N_, request_lang, translator

UNAVAILABLE = N_("PDF is op deze server niet beschikbaar (de PDF-bibliotheek ontbreekt). "
                 "Gebruik Afdrukken in de browser en kies 'Opslaan als PDF'.")


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why PDFs cannot be made here (the import error), or None when they can."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        return f"{type(exc).__name__}: {exc}"
    return None


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    pdf: Any = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return bytes(pdf)


def pdf_response(html: str, filename: str) -> Response:
    return Response(html_to_pdf(html), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def pdf_unavailable_page(request: Request) -> Response:
    """The answer to a PDF link on a machine without the PDF library: a page saying so
    and what to do instead (503: the server cannot, the request was fine)."""
    from api.deps import render

    t = translator(request_lang(request))
    return render(request, "error.html", {
        "status_code": 503, "title": N_("PDF niet beschikbaar"), "message": t(UNAVAILABLE)},
        status_code=503)

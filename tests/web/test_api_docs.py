"""/api/docs works offline and under our Content-Security-Policy: every file it loads is
served by this app (Swagger UI from the swagger-ui-bundle package), no inline script."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

SRC_RE = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")


def test_docs_page_loads_only_our_own_files(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    refs = SRC_RE.findall(r.text)
    scripts = [u for u in refs if u.endswith(".js")]
    assert scripts, "the page loads Swagger UI's script"
    for url in refs:
        if url.startswith("data:"):
            continue
        assert url.startswith("/"), f"{url} is not served by this app"
        got = client.get(url)
        assert got.status_code == 200, url
        assert got.content, url
    # The CSP refuses inline scripts: every <script> has a src.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)
    assert 'data-openapi-url="/api/openapi.json"' in r.text


def test_docs_assets_are_swagger_ui(client: TestClient) -> None:
    js = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert b"SwaggerUIBundle" in js.content
    assert client.get("/api/docs/assets/nothing-here.js").status_code == 404


def test_docs_page_in_english(client: TestClient) -> None:
    r = client.get("/api/docs?lang=en")
    assert '<html lang="en">' in r.text
    assert "Back to Social Return Matcher" in r.text

"""Start-up warm-up: the search table and the engine's index are built off the request path."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db import get_engine
from api.services import enterprise_search, matching


def test_startup_builds_search_table_and_match_index(app: FastAPI) -> None:
    from api.app import create_app

    enterprise_search.clear_cache()
    matching.invalidate()
    engine = get_engine()
    # `app` (the fixture's, as every test app) does not warm; the served one does.
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/login").status_code == 200
    assert str(engine.url) not in enterprise_search._cache
    with TestClient(create_app(serving=True), follow_redirects=False) as client:
        assert client.get("/login").status_code == 200
    # Leaving the client ends the lifespan, which waits for the warm-up thread.
    assert str(engine.url) in enterprise_search._cache
    index_url = engine.url.render_as_string(hide_password=False)
    assert index_url in matching._cache
    assert len(matching._cache[index_url][3]) > 0  # the seeded registry, not empty

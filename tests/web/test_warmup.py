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


def test_a_serving_app_freezes_what_start_up_built_and_gives_it_back_at_the_end(
        app: FastAPI) -> None:
    """api.services.heap: after the warm-up the index and search table are out of the full
    garbage collections (frozen); a test's app does not freeze; ending the lifespan
    unfreezes (a process that stops serving keeps no frozen cycles)."""
    import gc
    import time

    from api.app import create_app
    from api.services import heap

    enterprise_search.clear_cache()
    matching.invalidate()
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/login").status_code == 200
    assert gc.get_freeze_count() == 0 and not heap.enabled()
    with TestClient(create_app(serving=True), follow_redirects=False) as client:
        deadline = time.monotonic() + 60
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gc.get_freeze_count() > 10_000  # the warm-up's settle
        assert heap.enabled()
    assert gc.get_freeze_count() == 0 and not heap.enabled()

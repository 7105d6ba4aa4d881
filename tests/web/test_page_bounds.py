"""Page numbers have sane bounds (issue #18): an absurd ``page`` is a 422 naming the
parameter on the API and an empty last page on the HTML lists, never a server error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.web.params import MAX_PAGE, page_param

HUGE = "8670902377319527826325504"

PAGES = ["/tenders", "/obligations", "/enterprises", "/challenges", "/curation", "/vetting"]


def test_page_param_clamps() -> None:
    assert page_param(HUGE) == MAX_PAGE
    assert page_param("-3") == 1 and page_param("x") == 1 and page_param(None) == 1
    assert page_param("7") == 7


@pytest.mark.postgres
def test_huge_page_is_refused_by_the_api(client: TestClient,
                                         api_token: Callable[[str], dict[str, str]]) -> None:
    headers = api_token("admin")
    schema = client.get("/api/openapi.json").json()
    # Every GET operation with a ``page`` parameter and no path parameter: all the lists.
    lists = [path for path, ops in schema["paths"].items()
             if "{" not in path and "get" in ops
             and any(p["name"] == "page" for p in ops["get"].get("parameters", []))]
    assert len(lists) >= 8, lists
    for path in lists:
        page = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "page")
        assert page["schema"].get("maximum") == MAX_PAGE, path  # the schema says the bound
        r = client.get(f"{path}?page={HUGE}", headers=headers)
        assert r.status_code == 422, (path, r.status_code, r.text[:200])
        assert r.json()["detail"]["field"] == "page", path
        ok = client.get(f"{path}?page={MAX_PAGE}", headers=headers)
        assert ok.status_code == 200, (path, ok.text[:200])


@pytest.mark.postgres
def test_huge_page_on_the_html_lists_is_an_empty_page(
        client: TestClient, login: Callable[[str], TestClient]) -> None:
    login("admin")
    for path in PAGES:
        r = client.get(f"{path}?page={HUGE}")
        assert r.status_code == 200, (path, r.status_code)

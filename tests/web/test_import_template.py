"""Import templates (#16 item 7f): one CSV per kind with the importer's own columns, an
example row that the importer accepts when used as data and skips in the template, linked
from the import page, for the roles that import. On SQLite."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.importers.interchange import KINDS, csv_columns, parse_file


@pytest.mark.parametrize("kind", KINDS)
def test_template_has_the_importers_columns_and_a_valid_example(
        client: TestClient, login, kind: str) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    r = client.get(f"/import/template/{kind}.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="{kind}.csv"' in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == f"# kind: {kind}"
    assert lines[-1].split(",") == list(csv_columns(kind))
    example = lines[2]
    assert example.startswith("# VOORBEELD (wordt niet ingelezen): ")
    # The template as downloaded imports nothing: the example is a comment.
    assert parse_file(f"{kind}.csv", r.content).count() == 0
    # The example row, used as data under the header, passes the importer's checks.
    data = example.removeprefix("# VOORBEELD (wordt niet ingelezen): ")
    parsed = parse_file(f"{kind}.csv", f"{lines[-1]}\n{data}\n".encode())
    assert parsed.issues == [] and parsed.count() == 1
    en = client.get(f"/import/template/{kind}.csv?lang=en").text.splitlines()
    assert en[2].startswith("# EXAMPLE (not imported): ") and en[-1] == lines[-1]


def test_enterprise_example_shows_the_contact_columns(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    lines = client.get("/import/template/enterprises.csv").text.splitlines()
    header = lines[-1].split(",")
    cells = dict(zip(header, lines[2].split(","), strict=True))
    assert cells["contact_email"] == "info@schoon-sociaal.example"
    assert cells["contact_website"] == "https://www.schoon-sociaal.example"


def test_linked_from_the_import_page_and_refused_otherwise(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    page = client.get("/import").text
    for kind in KINDS:
        assert f'href="/import/template/{kind}.csv" download' in page
    assert client.get("/import/template/ledgers.csv").status_code == 404
    assert client.get("/import/template/enterprises.xlsx").status_code == 404
    client.cookies.clear()
    login("firm")
    assert client.get("/import/template/enterprises.csv").status_code == 403

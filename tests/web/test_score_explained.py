"""Scores explained on the tender page (#16 item 3): each match shows its parts with the
weights, and "why is A above B" names the features that decide the order."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from matcher.rank import why_above

pytestmark = pytest.mark.postgres


def test_why_above_adds_up_to_the_score_difference() -> None:
    a = {"cpv": 0.30, "text": 0.10, "geo": 0.05}
    b = {"cpv": 0.10, "text": 0.15, "groups": 0.02}
    diffs = why_above(a, b)
    assert [f for f, _ in diffs] == ["cpv", "geo", "groups", "text"]
    assert sum(d for _, d in diffs) == pytest.approx(sum(a.values()) - sum(b.values()))
    assert why_above(a, a) == []


def _api_matches(client: TestClient, ref: str) -> list[dict]:  # type: ignore[type-arg]
    r = client.get(f"/api/v1/tenders/{ref}/matches")
    assert r.status_code == 200
    return list(r.json()["items"])


def test_each_match_shows_its_parts_and_two_rows_compare(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    ref = "T-UTR-1"
    results = _api_matches(client, ref)
    assert len(results) >= 2
    html = client.get(f"/tenders/{ref}").text
    table = html.split('id="match-table"')[1].split("</table>\n  </div>")[0]
    # One breakdown per match, its contributions in the page equal the API's.
    assert table.count('class="score-parts"') == len(results)
    first = results[0]
    biggest = max(first["contributions"], key=first["contributions"].get)
    assert f"part-{biggest}" in table

    hi, lo = results[0], results[-1]
    page = client.get(f"/tenders/{ref}", params={"a": lo["ref"], "b": hi["ref"]}).text
    verdict = unescape(re.sub(r"<[^>]+>", "", page.split('id="compare-verdict">')[1]
                              .split("</p>")[0]))
    # Whichever order they were asked in, the higher score is named first.
    assert verdict.startswith(f"{hi['name']} staat boven {lo['name']}")
    top = why_above(hi["contributions"], lo["contributions"])[0][0]
    from api.labels import FEATURE_NL
    assert FEATURE_NL[top] in verdict.split("vooral door:")[1]
    rows = re.findall(r"<tr><th scope=\"row\">", page.split('id="compare-table"')[1]
                      .split("</table>")[0])
    assert len(rows) == len(why_above(hi["contributions"], lo["contributions"]))


def test_compare_ignores_unknown_refs(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    r = client.get("/tenders/T-UTR-1", params={"a": "E-999999", "b": "nonsense"})
    assert r.status_code == 200, r.text[:2000]
    assert 'id="compare-verdict"' not in r.text

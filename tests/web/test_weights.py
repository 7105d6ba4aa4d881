"""Weights page: active set and chart, history with what changed, rollback with CSRF, roles."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.db import get_engine
from api.services.weights import active_weights, save_version
from matcher.weights import DEFAULT
from tests.web.conftest import CSRF_RE

ROOT = Path(__file__).resolve().parents[2]


def test_weights_page_history_and_rollback(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    empty = client.get("/weights")
    assert empty.status_code == 200
    assert "Nog niets opgeslagen" in empty.text and "<svg" in empty.text

    with Session(get_engine()) as s:
        save_version(s, {**DEFAULT.weights, "geo": 0.6, "cpv": 0.05},
                     metrics={"heldout_ndcg@10": 0.91, "heldout_ndcg@10_active": 0.72},
                     note="learnt from 40 decisions", activate=True)

    page = client.get("/weights")
    assert page.status_code == 200
    assert "learned versie 2" in page.text
    rows = re.findall(r"<tr(?: class=\"active\")?>\s*<td>v(\d+)</td>", page.text)
    assert rows == ["2", "1"]
    assert "Afstand 0,14 -&gt; 0,60" in page.text  # what changed, from v1 to v2
    assert "0,910" in page.text or "0.910" in page.text
    assert 'action="/weights/1/activate"' in page.text
    assert 'action="/weights/2/activate"' not in page.text  # the active one has no button

    # Without the CSRF token the rollback is refused.
    assert client.post("/weights/1/activate").status_code == 403
    token = CSRF_RE.search(page.text)
    assert token
    r = client.post("/weights/1/activate", data={"csrf_token": token.group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/weights"
    with Session(get_engine()) as s:
        assert active_weights(s).version == 1
    after = client.get("/weights")
    assert "default versie 1" in after.text and "weer actief" in after.text

    missing = client.post("/weights/99/activate", data={"csrf_token": token.group(1)})
    assert missing.status_code == 303
    assert "Versie 99 bestaat niet" in client.get("/weights").text

    english = client.get("/weights?lang=en")
    assert "Active set" in english.text and "Roll back to this version" in english.text
    assert "Distance" in english.text

    api = client.get("/api/v1/weights")
    assert api.status_code == 200
    assert [v["version"] for v in api.json()["versions"]] == [2, 1]


def test_weights_page_is_for_connectors_and_admins(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("firm")
    assert client.get("/weights").status_code == 403
    assert client.post("/weights/1/activate").status_code == 403


def test_weights_template_is_translated() -> None:
    from api import i18n

    english = i18n.english()
    text = (ROOT / "templates/weights/index.html").read_text(encoding="utf-8")
    missing = {m.group(2) for m in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", text)
               if m.group(2) not in english}
    assert not missing, f"add to api/translations/en/weights.po: {sorted(missing)}"
    from api.labels import FEATURE_NL as FEATURE_LABELS

    assert not set(FEATURE_LABELS.values()) - set(english)


def test_refused_set_needs_confirmation_and_the_message_tells_the_truth(  # type: ignore[no-untyped-def]
        client: TestClient, login) -> None:
    login("connector")
    with Session(get_engine()) as s:
        refused = save_version(s, {**DEFAULT.weights, "geo": 0.99, "cpv": 0.0, "text": 0.0},
                               metrics={"status": "refused", "reason": "loses 0.576 NDCG@10 "
                                        "on the labelled set", "labelled_ndcg@10": 0.318,
                                        "labelled_ndcg@10_active": 0.894})
        assert active_weights(s).version == 1
    page = client.get("/weights")
    assert "Geweigerd" in page.text and ("0,318" in page.text or "0.318" in page.text)
    token = CSRF_RE.search(page.text)
    assert token
    # One click does not activate it: it asks for confirmation.
    r = client.post(f"/weights/{refused.version}/activate",
                    data={"csrf_token": token.group(1)})
    assert r.status_code == 303 and "bevestig" in r.headers["location"]
    with Session(get_engine()) as s:
        assert active_weights(s).version == 1
    confirm = client.get(r.headers["location"])
    assert "Geweigerde set activeren?" in confirm.text and 'name="confirm"' in confirm.text
    assert "loses 0.576" in confirm.text
    r = client.post(f"/weights/{refused.version}/activate",
                    data={"csrf_token": token.group(1), "confirm": "1"})
    assert r.status_code == 303
    with Session(get_engine()) as s:
        assert active_weights(s).version == refused.version
    after = client.get("/weights").text
    assert f"versie {refused.version} is nu actief" in after and "weer actief" not in after


def test_learn_now_runs_in_the_background_with_progress(  # type: ignore[no-untyped-def]
        client: TestClient, login) -> None:
    import time

    login("connector")
    assert client.get("/api/v1/weights/learn").json()["state"] in ("none", "done")
    page = client.get("/weights")
    assert 'action="/weights/learn"' in page.text and "Leer nu" in page.text
    assert 'src="/static/learn-status.js"' in page.text
    token = CSRF_RE.search(page.text)
    assert token
    assert client.post("/weights/learn").status_code == 403  # CSRF
    r = client.post("/weights/learn", data={"csrf_token": token.group(1)})
    assert r.status_code == 303
    job: dict[str, object] = {}
    for _ in range(200):
        job = client.get("/api/v1/weights/learn").json()
        if job["state"] != "running":
            break
        time.sleep(0.1)
    # The seed holds a handful of decisions: too few to learn from, and the job says so.
    assert job["state"] == "done", job
    assert job["step"] == "decisions" and job["started_by"]
    result = job["result"]
    assert isinstance(result, dict) and result["status"] == "too_few"
    # Its message in the client's language: Dutch by default, English when asked.
    assert "besluiten" in str(result["message"])
    english = client.get("/api/v1/weights/learn?lang=en").json()
    assert "decisions in the curation log" in str(english["result"]["message"])

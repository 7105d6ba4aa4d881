"""The ledger page's upload runs as a background job (api.services.import_jobs, format
"ledger") on SQLite and PostgreSQL: the upload answers the job's page, which shows the
progress while it runs and sends the user to the ledger when done; a file refused in the
middle fails the job with every problem and writes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.db import get_engine
from api.i18n import translate
from api.labels import LEDGER_PROBLEM_NL
from api.services import import_jobs, jobs
from api.tables import ImportJob, LedgerLineRow, LedgerRow
from fixtures import ledgers as G
from tests.web.conftest import csrf_of, upload_ledger

GEN = G.generate(G.SEED, lang="nl")
NL = G.write_nl_csv(GEN)


def _post(c: TestClient, data: bytes, name: str = "ledger_nl.csv"):  # type: ignore[no-untyped-def]
    return c.post("/ledgers", data={"csrf_token": csrf_of(c, "/ledgers")},
                  files={"file": (name, data, "text/csv")})


def _count(table: type) -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def test_upload_answers_the_job_page_with_progress_then_the_ledger(
        login: Callable[[str], TestClient]) -> None:
    c = login("firm")
    # Hold the one-import-at-a-time lock: the job waits, so its page can be looked at.
    with import_jobs._run_lock:
        r = _post(c, NL)
        assert r.status_code == 303, r.text[:300]
        job_url = r.headers["location"]
        assert job_url.startswith("/ledgers/jobs/")
        page = c.get(job_url)
        assert page.status_code == 200
        assert 'http-equiv="refresh"' in page.text and 'id="job-state"' in page.text
        # What the page shows while the job runs: the step and rows done of the total
        # (as its worker writes them to the row; the worker's own process shows them
        # from jobs.local_progress). Running in this process: the queue's thread waits
        # for the lock held here.
        job_id = job_url.rsplit("/", 1)[1]
        deadline = time.monotonic() + 30
        while not jobs.running_here(job_id):  # the queue's thread has it, waits for the lock
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with Session(get_engine()) as s:
            job = s.get(ImportJob, job_id)
            assert job is not None and job.format == "ledger" and job.state == "queued"
            job.state, job.runner = "running", import_jobs.runner_id()
            job.step, job.rows_done, job.rows_total = "store", 5_000, 100_000
            s.add(job)
            s.commit()
        page = c.get(job_url)
        assert "regels opslaan: 5.000 van 100.000 regels" in page.text
        assert '<progress max="100000" value="5000"' in page.text
        english = c.get(job_url + "?lang=en").text
        assert "saving lines: 5" in english and "000 lines" in english
        api = c.get(f"/api/v1/import/jobs/{job_id}", headers={"Accept-Language": "en"})
        assert api.status_code == 200, api.text
        assert api.json()["step"] == "store" and api.json()["step_label"] == "saving lines"
        with Session(get_engine()) as s:
            job = s.get(ImportJob, job_id)
            assert job is not None
            job.state, job.runner = "queued", ""
            s.add(job)
            s.commit()
    import_jobs.wait_idle()
    r = c.get(job_url + "?lang=nl")
    assert r.status_code == 303 and r.headers["location"].startswith("/ledgers/"), r.text[:300]
    ledger = c.get(r.headers["location"])
    assert ledger.status_code == 200
    assert f"{len(GEN)} regels ingelezen uit ledger_nl.csv" in ledger.text
    assert _count(LedgerLineRow) == len(GEN)
    with Session(get_engine()) as s:
        job = s.get(ImportJob, job_id)
        assert job is not None and job.state == "done" and job.rows_total == len(GEN)
        assert job.report["lines"] == len(GEN)
    # Another user's job is not found (the job belongs to whoever started it).
    c.cookies.clear()
    login("firm2")
    assert c.get(job_url).status_code == 404


def test_a_bad_line_deep_in_the_file_fails_the_job_and_writes_nothing(
        login: Callable[[str], TestClient]) -> None:
    good = "".join(f"{1 + i % 28:02d}-01-2025;Koerier B;koerier rit;{10 + i},00\n"
                   for i in range(400))
    data = ("Datum;Relatie;Omschrijving;Bedrag excl. btw\n" + good
            + "03-02-2025;Koerier B;koerier rit;twaalf\n"
            + "31-02-2025;Koerier B;koerier rit;12,00\n").encode()
    c = login("firm")
    r = _post(c, data, "groot.csv")
    assert r.status_code == 303
    import_jobs.wait_idle()
    page = c.get(r.headers["location"])
    assert page.status_code == 200
    assert 'id="job-failed"' in page.text and "mislukt" in page.text
    assert "groot.csv: niet ingelezen, 2 problemen (niets opgeslagen)." in page.text
    assert "Rij 402" in page.text and "Bedrag &#39;twaalf&#39; is geen getal." in page.text
    assert "Rij 403" in page.text
    assert _count(LedgerRow) == 0 and _count(LedgerLineRow) == 0
    failed_url = r.headers["location"]
    # A file whose first rows are already wrong is refused at once, with the mapping form.
    r = _post(c, b"Datum;Relatie;Bedrag\n32-01-2025;A;1,00\n", "kort.csv")
    assert r.status_code == 422 and "kort.csv is niet ingelezen" in r.text
    assert _count(LedgerRow) == 0
    assert "Row 402" in c.get(failed_url + "?lang=en").text


def test_api_upload_is_a_job_a_late_refusal_fails_it_with_every_problem(
        client: TestClient, api_token: Callable[[str], dict[str, str]]) -> None:
    """POST /api/v1/ledgers answers 202 with the job at Location (the whole file is read by
    the job); a line refused deep in the file fails the job with every problem, in the
    caller's language, and nothing is written."""
    good = "".join(f"{1 + i % 28:02d}-01-2025;Koerier B;koerier rit;{10 + i},00\n"
                   for i in range(400))
    data = ("Datum;Relatie;Omschrijving;Bedrag excl. btw\n" + good
            + "03-02-2025;Koerier B;koerier rit;twaalf\n").encode()
    firm = {**api_token("firm"), "Accept-Language": "en"}
    job = upload_ledger(client, firm, files={"file": ("groot.csv", data, "text/csv")})
    assert job["state"] == "failed" and job["ledger"] is None, job
    assert [(p["row"], p["code"]) for p in job["problems"]] == [(402, "bad_amount")]
    assert job["problems"][0]["message"] == translate(LEDGER_PROBLEM_NL["bad_amount"], "en",
                                                      value="twaalf")
    assert "groot.csv" in job["message"] and "niet ingelezen" not in job["message"]
    assert _count(LedgerRow) == 0 and _count(LedgerLineRow) == 0
    # Ended: no cancel.
    assert client.delete(f"/api/v1/ledgers/jobs/{job['id']}", headers=firm).status_code == 409


def test_api_upload_cancelled_while_queued_writes_nothing(
        client: TestClient, api_token: Callable[[str], dict[str, str]]) -> None:
    firm = api_token("firm")
    with import_jobs._run_lock:  # the queue's thread takes it and waits: still queued
        r = client.post("/api/v1/ledgers", headers=firm,
                        files={"file": ("ledger_nl.csv", NL, "text/csv")})
        assert r.status_code == 202, r.text[:300]
        location = r.headers["location"]
        assert r.json()["state"] == "queued" and r.json()["rows_total"] == 0
        r = client.delete(location, headers=firm)
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
    import_jobs.wait_idle()
    job = client.get(location, headers=firm).json()
    assert job["state"] == "cancelled" and job["ledger"] is None
    assert _count(LedgerRow) == 0 and _count(LedgerLineRow) == 0


def test_api_upload_refused_when_the_queue_is_unreachable(
        client: TestClient, api_token: Callable[[str], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from api import settings as api_settings
    from api.services import job_queue

    firm = api_token("firm")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    api_settings.get_settings.cache_clear()
    job_queue.reset()
    try:
        r = client.post("/api/v1/ledgers", headers=firm,
                        files={"file": ("ledger_nl.csv", NL, "text/csv")})
    finally:
        monkeypatch.delenv("REDIS_URL")
        api_settings.get_settings.cache_clear()
        job_queue.reset()
    assert r.status_code == 503 and "niet bereikbaar" in r.json()["detail"]["message"]
    assert _count(ImportJob) == 0  # refused, not kept

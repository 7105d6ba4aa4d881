"""Imports in the background (api.services.import_jobs), on SQLite and PostgreSQL: the job's
life from upload to preview to write, its progress while it runs, a paged and capped
duplicate report, other requests served meanwhile, cancelling, and a restart marking an
interrupted job failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.clock import utcnow
from api.services import import_jobs, jobs
from api.tables import ImportJob, ImportJobFile
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def enterprise(i: int, name: str = "Groene Schoonmaak Overvecht") -> dict[str, Any]:
    return {"ref": f"E-JOB-{i:04d}", "name": name, "kvk": f"{70000000 + i}",
            "description": "Leerwerkbedrijf in de schoonmaak.", "cpv": ["90911200"],
            "municipality": "Utrecht"}


def upload(doc: dict[str, Any], name: str = "jobs.json") -> list[Any]:
    return [("files", (name, json.dumps(doc).encode(), "application/json"))]


def poll(client: TestClient, h: dict[str, str], location: str,
         until: tuple[str, ...] = ("preview_ready", "done", "failed", "cancelled"),
         page: int = 1) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        r = client.get(f"{location}?page={page}", headers=h)
        assert r.status_code == 200, r.text
        if r.json()["state"] in until:
            return dict(r.json())
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.05)


class Gate:
    """Holds a running import at a given step and row count until released, so a test
    can look at it mid-way (the real import and its progress callback run on)."""

    def __init__(self, step: str, at: int) -> None:
        self.step, self.at = step, at
        self.reached, self.release = threading.Event(), threading.Event()
        self.seen: list[tuple[str, int, int]] = []

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def import_files(*args: Any, progress: Any = None, **kw: Any) -> Any:
            def gated(step: str, done: int, total: int) -> None:
                self.seen.append((step, done, total))
                progress(step, done, total)
                if step == self.step and done >= self.at and not self.reached.is_set():
                    self.reached.set()
                    assert self.release.wait(60), "the test never released the import"

            return real(*args, progress=gated, **kw)

        return import_files


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, int], Gate]]:
    gates: list[Gate] = []

    def make(step: str, at: int) -> Gate:
        g = Gate(step, at)
        monkeypatch.setattr(import_jobs, "import_files", g.wrap(import_jobs.import_files))
        gates.append(g)
        return g

    yield make
    for g in gates:  # never leave a thread waiting
        g.release.set()
    import_jobs.wait_idle()


def test_api_job_lifecycle_preview_then_confirm(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    doc = {"enterprises": [enterprise(1, "Job Fietsenmaker Zuilen")]}
    r = client.post("/api/v1/import", headers=h, files=upload(doc), data={"wait": "0"})
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    assert location.startswith("/api/v1/import/jobs/") and r.json()["state"] in (
        "queued", "running", "preview_ready")
    job = poll(client, h, location)
    assert job["state"] == "preview_ready" and job["writable"], job
    (f,) = job["report"]["files"]
    assert f["dry_run"] and f["changes"][0]["ref"] == "E-JOB-0001"
    assert job["rows_done"] == job["rows_total"] == 1
    assert client.get("/api/v1/enterprises/E-JOB-0001", headers=h).status_code == 404
    r = client.post(f"{location}/confirm", headers=h)
    assert r.status_code == 202 and r.headers["location"] == location
    job = poll(client, h, location, ("done", "failed", "cancelled"))
    assert job["state"] == "done", job
    assert job["report"]["files"][0]["written"] is True
    assert client.get("/api/v1/enterprises/E-JOB-0001", headers=h).status_code == 200
    # Ended: no second confirmation, no cancel.
    assert client.post(f"{location}/confirm", headers=h).status_code == 409
    assert client.delete(location, headers=h).status_code == 409
    # Only its owner and admins see a job.
    assert client.get(location, headers=api_token("officer")).status_code == 404
    assert client.get(location, headers=api_token("admin")).status_code == 200
    # A short import within `wait` answers the report itself, with the job beside it.
    r = client.post("/api/v1/import", headers=h, files=upload(doc))
    assert r.status_code == 200 and r.json()["files"][0]["changes"] == []  # unchanged now
    assert r.json()["job"]["state"] == "preview_ready" and r.headers["location"]


def test_progress_is_visible_and_others_are_served_while_a_job_runs(
        client: TestClient, login, api_token: Headers,  # type: ignore[no-untyped-def]
        gate: Callable[[str, int], Gate]) -> None:
    h = api_token("connector")
    g = gate("write", 400)
    doc = {"enterprises": [enterprise(i, f"Werkbedrijf {i} Noord") for i in range(600)]}
    login("connector")
    token = csrf_of(client, "/import")
    r = client.post("/import", data={"csrf_token": token, "format": "interchange",
                                     "on_duplicate": "keep-both"}, files=upload(doc))
    assert r.status_code == 303, r.text
    page_url = r.headers["location"]
    assert g.reached.wait(60), g.seen
    # Mid-way: the page shows the step and the rows done of the total, and refreshes itself.
    page = client.get(page_url)
    assert page.status_code == 200
    assert 'http-equiv="refresh"' in page.text and "<progress" in page.text
    assert "400 van 600 rijen" in page.text, page.text[page.text.find("job-progress"):][:300]
    job_id = page_url.rsplit("/", 1)[1]
    api = client.get(f"/api/v1/import/jobs/{job_id}", headers=h).json()
    assert (api["state"], api["step"], api["rows_done"], api["rows_total"]) == (
        "running", "write", 400, 600)
    # The step for people, in the client's language (the code stays in "step").
    assert api["step_label"] == "records verwerken"
    english = client.get(f"/api/v1/import/jobs/{job_id}",
                         headers={**h, "Accept-Language": "en"}).json()
    assert english["step_label"] == "processing records"
    # Other users are served meanwhile (the import holds no lock they need to read).
    start = time.monotonic()
    other = client.get("/api/v1/enterprises?per_page=5", headers=api_token("officer"))
    assert other.status_code == 200 and time.monotonic() - start < 10
    assert client.get("/enterprises").status_code == 200
    g.release.set()
    import_jobs.wait_idle()
    done = client.get(page_url)
    assert 'http-equiv="refresh"' not in done.text and "Bevestigen" in done.text
    # The progress went through every step, in order, ending at the total.
    steps = [s for s, _, _ in g.seen]
    assert steps[0] == "read" and steps[-1] == "write" and g.seen[-1][1:] == (600, 600)
    assert "duplicates" in steps


def test_duplicate_report_is_capped_and_paged(client: TestClient, login,  # type: ignore[no-untyped-def]
                                              api_token: Headers) -> None:
    h = api_token("connector")
    n = 70  # the same name 70 times in one place: 70 * 69 / 2 = 2,415 likely pairs
    doc = {"enterprises": [enterprise(i) for i in range(n)]}
    r = client.post("/api/v1/import", headers=h, files=upload(doc), data={"wait": "0"})
    location = r.headers["location"]
    first = poll(client, h, location)
    (f,) = first["report"]["files"]
    assert f["status"] == "duplicates" and not first["writable"]
    assert f["duplicates_total"] == n * (n - 1) // 2
    assert len(f["duplicates"]) == 200 and f["duplicate_pages"] == 5  # 1,000 kept
    last = poll(client, h, location, page=5)["report"]["files"][0]
    beyond = poll(client, h, location, page=6)["report"]["files"][0]
    assert len(last["duplicates"]) == 200 and beyond["duplicates"] == []
    pairs = {(d["incoming_ref"], d["existing_ref"]) for d in f["duplicates"]}
    assert not pairs & {(d["incoming_ref"], d["existing_ref"]) for d in last["duplicates"]}
    # The page shows one page of pairs, with links to the others.
    login("connector")
    html = client.get(f"/import/jobs/{first['id']}?page=2").text
    assert html.count("naam 100% gelijk") == 200  # CLDR percent, no ".0" (#16)
    assert f'href="/import/jobs/{first["id"]}?page=3"' in html
    assert "Alleen de eerste 1.000 paren worden getoond." in html
    # Not writable: confirming is refused.
    assert client.post(f"{location}/confirm", headers=h).status_code == 409


def test_cancel_a_running_job_writes_nothing(client: TestClient, api_token: Headers,
                                            gate: Callable[[str, int], Gate]) -> None:
    h = api_token("connector")
    g = gate("write", 200)
    doc = {"enterprises": [enterprise(i, f"Annuleerbedrijf {i} Oost") for i in range(400)]}
    r = client.post("/api/v1/import", headers=h, files=upload(doc),
                    data={"confirm": "true", "on_duplicate": "keep-both", "wait": "0"})
    assert r.status_code == 202
    location = r.headers["location"]
    assert g.reached.wait(60)
    r = client.delete(location, headers=h)
    assert r.status_code == 202 and r.json()["cancel_requested"] is True
    g.release.set()
    job = poll(client, h, location, ("done", "failed", "cancelled"))
    assert job["state"] == "cancelled", job["error"]
    (f,) = job["report"]["files"]
    assert f["written"] is False and "afgebroken" in f["issues"][0]["reason"]
    assert client.get("/api/v1/enterprises/E-JOB-0001", headers=h).status_code == 404
    with Session(import_jobs_engine()) as s:  # its files are gone with it
        assert not s.exec(select(ImportJobFile).where(
            ImportJobFile.job_id == job["id"])).first()


def import_jobs_engine() -> Any:
    from api.db import get_engine

    return get_engine()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_restart_marks_interrupted_jobs_failed(client: TestClient, login,  # type: ignore[no-untyped-def]
                                                 api_token: Headers) -> None:
    from api.tables import User

    engine = import_jobs_engine()
    host = socket.gethostname()
    with Session(engine) as s:
        uid = s.exec(select(User).where(User.role == "connector")).first().id  # type: ignore[union-attr]
        rows = {
            "dead-process": f"{host}:{_dead_pid()}",  # its server was killed
            "this-process": f"{host}:{os.getpid()}",  # this process, but no thread runs it
            "live-process": f"{host}:{os.getppid()}",  # another process that still runs
            # Workers on another host: known only by their heartbeat (jobs.STALE).
            "silent-host": "other-host.example:4242",
            "beating-host": "other-host.example:4243",
        }
        beats = {"silent-host": utcnow() - jobs.STALE - timedelta(minutes=1),
                 "beating-host": utcnow() - timedelta(seconds=30)}
        for job_id, runner in rows.items():
            s.add(ImportJob(id=job_id, created_by=uid or 0, format="interchange",
                            state="running", step="write", rows_done=5, rows_total=9,
                            runner=runner, heartbeat_at=beats.get(job_id)))
            s.add(ImportJobFile(job_id=job_id, name="x.json", data=b"{}"))
        s.commit()
    assert import_jobs.recover(engine) == 3
    with Session(engine) as s:
        state = {j.id: (j.state, j.error) for j in s.exec(select(ImportJob))}
        files = {f.job_id for f in s.exec(select(ImportJobFile))}
    assert state["dead-process"][0] == state["this-process"][0] == "failed"
    assert state["silent-host"][0] == "failed" and state["beating-host"][0] == "running"
    assert "niets uit het bestand" in state["dead-process"][1]  # Dutch, said in the
    # reader's language when shown (import_jobs.view)
    assert state["live-process"][0] == "running"
    assert files == {"live-process", "beating-host"}
    login("connector")
    page = client.get("/import/jobs/dead-process")
    assert page.status_code == 200 and "mislukt" in page.text
    assert 'http-equiv="refresh"' not in page.text


def test_the_page_takes_every_registered_format_officers_their_published_tenders(
        client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    from api.importers import registry

    login("connector")
    page = client.get("/import").text
    for fmt in registry.FORMATS.values():
        assert f'<option value="{fmt.name}"' in page, fmt.name
    client.cookies.clear()
    login("officer")
    page = client.get("/import")
    assert page.status_code == 200
    assert '<option value="interchange"' not in page.text
    assert all(f'<option value="{n}"' in page.text for n in registry.names(published=True))
    token = csrf_of(client, "/import")
    r = client.post("/import", data={"csrf_token": token, "format": "interchange"},
                    files=upload({"enterprises": [enterprise(1)]}))
    assert r.status_code == 422 and "Kies een bestandsformaat" in r.text
    # An officer's published file goes through a job like any other.
    r = client.post("/import", data={"csrf_token": token, "format": "ocds"},
                    files=[("files", ("empty.json", b'{"releases": []}', "application/json"))])
    assert r.status_code == 303 and r.headers["location"].startswith("/import/jobs/")
    import_jobs.wait_idle()
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "OCDS" in page.text


def test_the_cli_prints_progress_and_every_format_has_a_dry_run(
        use_db: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main
    from api.commands.db import init_db
    from api.importers import registry

    init_db()
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"enterprises": [enterprise(i, f"Cli Bedrijf {i} West")
                                                for i in range(450)]}))
    assert main(["import", str(path), "--on-duplicate", "keep-both", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "lezen: 1/1 bestanden" in err  # the command's language: Dutch by default
    assert "dubbelen controleren: 450/450 nieuwe ondernemingen" in err
    assert "inlezen: 450/450 rijen" in err
    for fmt in registry.names(published=True):  # each published format's command previews
        empty = tmp_path / f"empty{registry.get(fmt).extensions[0]}"
        empty.write_bytes(b"")
        main([f"import-{fmt}", str(empty), "--dry-run", "--json"])
        assert json.loads(capsys.readouterr().out)["dry_run"] is True, fmt


def test_an_unconfirmed_preview_expires_after_an_hour(client: TestClient,
                                                      api_token: Headers) -> None:
    from datetime import timedelta

    from api.clock import utcnow
    from api.tables import User

    engine = import_jobs_engine()
    with Session(engine) as s:
        uid = s.exec(select(User).where(User.role == "connector")).first().id  # type: ignore[union-attr]
        for job_id, age in (("old-preview", 2), ("fresh-preview", 0)):
            s.add(ImportJob(id=job_id, created_by=uid or 0, format="interchange",
                            state="preview_ready", runner="elsewhere:1",
                            finished_at=utcnow() - timedelta(hours=age, minutes=1)))
            s.add(ImportJobFile(job_id=job_id, name="x.json", data=b"{}"))
        s.commit()
    h = api_token("connector")
    r = client.post("/api/v1/import", headers=h, files=upload({"enterprises": []}))
    assert r.status_code == 200, r.text
    with Session(engine) as s:
        old, fresh = s.get(ImportJob, "old-preview"), s.get(ImportJob, "fresh-preview")
        assert old is not None and fresh is not None
        assert (old.state, fresh.state) == ("cancelled", "preview_ready")
        assert old.error == import_jobs.PREVIEW_EXPIRED  # stored in Dutch, shown translated
        assert {f.job_id for f in s.exec(select(ImportJobFile))} >= {"fresh-preview"}
        assert not s.exec(select(ImportJobFile).where(
            ImportJobFile.job_id == "old-preview")).first()
    assert "niet binnen een uur bevestigd" in client.get(
        "/api/v1/import/jobs/old-preview", headers=h).json()["error"]
    assert "not confirmed within an hour" in client.get(
        "/api/v1/import/jobs/old-preview", headers={**h, "Accept-Language": "en"}
    ).json()["error"]


@pytest.mark.parametrize("ended", ["cancelled", "done"])
def test_a_job_its_worker_ends_while_it_is_judged_dead_keeps_its_end_state(
        client: TestClient, monkeypatch: pytest.MonkeyPatch, ended: str) -> None:
    """The worker commits the job's end state between a reader's look at the row (still
    running) and its verdict (the worker is gone: this process's job is no longer in
    hand). The end state stays: before, the stale row was written back as failed, the
    rare "failed" of test_cancel_a_running_job_writes_nothing."""
    from sqlalchemy import update

    from api.tables import User

    engine = import_jobs_engine()
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.role == "connector")).first()
        assert uid is not None
        s.add(ImportJob(id="racing", created_by=uid, format="interchange",
                        state="running", step="write", rows_done=5, rows_total=9,
                        runner=f"{socket.gethostname()}:{os.getpid()}",
                        heartbeat_at=utcnow()))
        s.commit()

    def worker_ends_it_now(job: ImportJob) -> bool:
        with engine.connect() as conn:  # the worker's own commit, on its own connection
            conn.execute(update(ImportJob).where(ImportJob.id == job.id)  # type: ignore[arg-type]
                         .values(state=ended, step=""))
            conn.commit()
        return False  # and it has left jobs.running_here

    monkeypatch.setattr(import_jobs, "_alive", worker_ends_it_now)
    with Session(engine) as s:
        user = s.get(User, uid)
        assert user is not None
        seen = import_jobs.get(s, "racing", user)
        assert seen.state == ended and seen.error == ""
    assert import_jobs.recover(engine) == 0
    with Session(engine) as s:
        job = s.get(ImportJob, "racing")
        assert job is not None and job.state == ended


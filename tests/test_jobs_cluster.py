"""The batch work with DASK_SCHEDULER set (#17 item 4): the global allocation and the batch
ranking job reach a Dask scheduler by its address (a LocalCluster's here, a remote one
in a deployment) and give exactly what they give in one process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, col, select

from api.db import engine_for
from api.tables import TenderRankingRow
from tests.web.seed import seed


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:8163") as cluster:
        yield cluster.scheduler_address


def _ranking(engine: object) -> list[tuple[str, int, str, float]]:
    with Session(engine) as s:  # type: ignore[arg-type]
        return [(r.tender_ref, r.position, r.enterprise_ref, r.score) for r in s.exec(
            select(TenderRankingRow).order_by(col(TenderRankingRow.tender_ref),
                                              col(TenderRankingRow.position)))]


def test_allocation_and_batch_ranking_on_the_cluster_equal_one_process(
        scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import settings as api_settings
    from api.services import jobs, planning
    from api.tables import JobRow

    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TODAY", "2026-06-01")
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed(s)

    def run_both() -> tuple[planning.GlobalAllocation, list[tuple[str, int, str, float]]]:
        api_settings.get_settings.cache_clear()
        with Session(engine) as s:
            alloc = planning.allocate_all(s)
            job = JobRow(id=f"j{len(list(s.exec(select(JobRow))))}", kind="rank_tenders",
                         created_by=0)
            s.add(job)
            s.commit()
            job_id = job.id
        jobs.run(job_id, engine)
        with Session(engine) as s:
            done = s.get(JobRow, job_id)
            assert done is not None and done.state == "done", done
        return alloc, _ranking(engine)

    try:
        alone, ranked_alone = run_both()
        monkeypatch.setenv("DASK_SCHEDULER", scheduler)
        clustered, ranked_clustered = run_both()
    finally:
        api_settings.get_settings.cache_clear()
        engine.dispose()
        engine_for.cache_clear()
    assert alone.rows and ranked_alone
    assert clustered.rows == alone.rows
    assert clustered.unmet_eur == alone.unmet_eur and clustered.objective == alone.objective
    assert ranked_clustered == ranked_alone

"""The DAGs: they parse, they only wire, and they run end to end through Airflow on the demo data."""

from pathlib import Path

import duckdb
import pendulum
import pytest

from schemas.tables import MARTS
from tests.conftest import REPO

DAG_IDS = ("listening_ingest", "listening_enrich", "listening_marts")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dagbag_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(DAG_IDS) <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dags_are_documented_tagged_and_thin(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "listening" in dag.tags
    assert dag.doc_md and dag_id in dag.doc_md
    assert dag.max_active_runs == 1
    # A DAG file wires; the work lives in pipelines/ and nlp/.
    source = Path(dag.fileloc).read_text(encoding="utf-8")
    assert len(source.splitlines()) < 80


def test_asset_chain(dagbag):
    ingest, enrich, marts = (dagbag.dags[d] for d in DAG_IDS)
    outlet = {a.name for t in ingest.tasks for a in t.outlets}
    assert outlet == {"listening_posts"}
    assert [a.name for t in enrich.tasks for a in t.outlets] == ["listening_enriched"]
    assert [a.name for t in marts.tasks for a in t.outlets] == ["listening_marts"]
    assert "listening_posts" in str(enrich.timetable.asset_condition)
    assert "listening_enriched" in str(marts.timetable.asset_condition)


@pytest.mark.slow
def test_end_to_end_dag_runs_over_demo_data(dagbag):
    from airflow.utils.db import resetdb

    from pipelines.project import open_project
    from pipelines.status import layer_status

    resetdb()
    for dag_id in DAG_IDS:
        run = dagbag.dags[dag_id].test()
        assert run.state == "success", f"{dag_id} ended {run.state}"
    project = open_project()
    status = layer_status(project)
    assert status["posts"]["rows"] >= 2000
    assert status["enriched"]["rows"] == status["posts"]["rows"]
    assert status["quarantine"]["records"] == 6
    assert set(status["marts"]) == set(MARTS) | {"themes"}
    ids_first = duckdb.execute(
        f"SELECT post_id FROM read_parquet('{project.storage.parquet_glob('posts')}') ORDER BY 1"
    ).fetchall()
    # Idempotent through Airflow too: a second ingest run adds nothing.
    assert dagbag.dags["listening_ingest"].test().state == "success"
    ids_second = duckdb.execute(
        f"SELECT post_id FROM read_parquet('{project.storage.parquet_glob('posts')}') ORDER BY 1"
    ).fetchall()
    assert ids_first == ids_second
    # The weekly digest, run as the schedule would on the Monday after 2026-W40, archives that week.
    from pipelines.digest import next_run_after_data

    assert next_run_after_data(project) == "2026-11-02T08:00:00+01:00"  # after the newest week, W44
    digest = dagbag.dags["listening_weekly_digest"]
    run = digest.test(logical_date=pendulum.datetime(2026, 10, 5, 8, tz="Europe/Warsaw"))
    assert run.state == "success"
    assert project.storage.exists(project.storage.path("digests", "2026-W40", "digest.pdf"))


def test_weekly_digest_dag(dagbag):
    """Weekly on the configured day and hour in the project timezone, with catchup for backfills."""
    from airflow.timetables.trigger import CronTriggerTimetable

    from pipelines.digest import build_digest

    dag = dagbag.dags["listening_weekly_digest"]
    assert "listening" in dag.tags and "listening_weekly_digest" in dag.doc_md
    assert dag.catchup and dag.max_active_runs == 1
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.summary == "0 8 * * 1"
    assert str(dag.timetable._timezone.name) == "Europe/Warsaw"
    assert [t.task_id for t in dag.tasks] == ["digest"]
    assert set(dag.params) == {"week", "force"}
    source = Path(dag.fileloc).read_text(encoding="utf-8")
    assert len(source.splitlines()) < 80 and "build_digest(" in source
    assert callable(build_digest)


@pytest.mark.slow
def test_ingest_dag_maps_live_sources_one_down_does_not_stop_the_others(dagbag, tmp_path, monkeypatch):
    """Through Airflow, one mapped task per (source, query): a live source served by a local fake API
    lands its posts; a source whose server is down fails its own task (and the run); one without keys is
    skipped; the posts of the first are still published."""
    import socket

    import yaml
    from airflow.utils.db import resetdb

    from pipelines.project import open_project
    from tests.conftest import write_project
    from tests.fake_apis import hackernews

    now = pendulum.now("UTC")
    fake = hackernews.Fake(
        [hackernews.record(i, now - pendulum.duration(minutes=30 * i + 5)) for i in range(60)]
    )
    fake.start()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    fast = {"rate_per_minute": 6000, "timeout_s": 1, "max_retries": 1}
    reddit = {"name": "reddit", "kind": "reddit", "subreddits": ["groceries"]}  # no keys in the environment
    sources = [
        hackernews.source(fake.url) | fast,
        hackernews.source(dead) | fast | {"name": "hn_down"},
        reddit,
    ]
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    config = write_project(tmp_path / "live", sources=sources)
    monkeypatch.setenv("LISTENING_CONFIG", str(config))
    resetdb()
    try:
        run = dagbag.dags["listening_ingest"].test()
    finally:
        fake.stop()
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert [states[("land", i)] for i in range(3)] == ["success", "failed", "skipped"]
    assert states[("normalise", -1)] == states[("publish", -1)] == "success"
    assert states[("all_sources_ok", -1)] == "upstream_failed"
    project = open_project(config)
    posts = duckdb.execute(
        f"SELECT COUNT(*) FROM read_parquet('{project.storage.parquet_glob('posts')}') WHERE source = 'hn'"
    ).fetchall()[0][0]
    assert posts == 60
    assert yaml.safe_load(config.read_text())["sources"][0]["kind"] == "hackernews"

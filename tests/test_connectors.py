"""The contract every live connector meets, run against a local stand-in of its API on 127.0.0.1
(tests/fake_apis/<kind>.py): paging, windows and high-water marks, idempotent reruns, 429 + Retry-After,
5xx, slow answers, malformed bodies, unusable records quarantined, missing credentials skipped. No test
touches the internet."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil

import duckdb
import pytest

import tests.fake_apis as fake_apis
from pipelines.connectors.http import SourceError

FAKES = sorted(m.name for m in pkgutil.iter_modules(fake_apis.__path__))
RECORDS = 120


@pytest.fixture(params=FAKES)
def live(request, project_factory, monkeypatch):
    module = importlib.import_module(f"tests.fake_apis.{request.param}")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    records = [module.record(i, now - dt.timedelta(minutes=20 * i + 5)) for i in range(RECORDS)]
    records.append(module.bad_record(now - dt.timedelta(hours=1)))
    records += [module.record(1000 + i, now - dt.timedelta(days=5, minutes=i)) for i in range(3)]  # too old
    fake = module.Fake(records).start()
    for key, value in module.ENV.items():
        monkeypatch.setenv(key, value)
    config = module.source(fake.url) | {"rate_per_minute": 6000, "timeout_s": 1, "max_retries": 2}
    project = project_factory(f"live-{request.param}", sources=[config])
    yield module, fake, project, config["name"]
    fake.stop()


def posts_of(project, source: str) -> list[tuple]:
    glob = project.storage.parquet_glob("posts")
    return duckdb.connect().execute(
        f"SELECT native_id, text, author_id, url, created_at FROM read_parquet('{glob}', hive_partitioning = true) "
        "WHERE source = ? ORDER BY native_id", [source]
    ).fetchall()  # fmt: skip


def test_every_page_lands_and_bad_records_are_quarantined(live):
    from pipelines.ingest import ingest_source

    module, fake, project, name = live
    result = ingest_source(project, name)
    assert result["posts"] == RECORDS, result
    assert result["quarantined"] == 1
    assert result["requests"] >= 2, "more than one page"
    rows = posts_of(project, name)
    assert len(rows) == RECORDS
    for _, text, author, url, _ in rows:
        assert text and "<p>" not in text and "&amp;" not in text
        assert author is None or author.startswith("a_")
        assert url is None or url.startswith("https://")
    raw = project.storage.glob(f"raw/source={name}/date=*/live-*.jsonl.gz")
    assert raw, "the records as received are in the raw layer"
    quarantine = project.storage.glob(f"quarantine/stage=*/source={name}/*.parquet")
    assert quarantine


def test_a_rerun_of_the_same_window_is_idempotent(live):
    from pipelines.ingest import ingest_source

    _, fake, project, name = live
    until = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    since = until - dt.timedelta(days=3)
    first = ingest_source(project, name, since, until)
    before = posts_of(project, name)
    calls = len(fake.requests)
    second = ingest_source(project, name, since, until)
    assert len(fake.requests) == calls, "the landed window is reused, not fetched again"
    assert posts_of(project, name) == before and second["posts"] == first["posts"]


def test_the_next_run_starts_where_the_last_one_stopped(live):
    from pipelines.ingest import ingest_source

    _, fake, project, name = live
    ingest_source(project, name)
    metas = sorted(project.storage.glob(f"raw/source={name}/date=*/live-*.meta.json"))
    first_until = {
        project.storage.read_json(m)["query"]: project.storage.read_json(m)["until"] for m in metas
    }
    fake.requests.clear()
    later = dt.datetime.fromisoformat(max(first_until.values())) + dt.timedelta(minutes=5)
    ingest_source(project, name, until=later)
    new = [m for m in project.storage.glob(f"raw/source={name}/date=*/live-*.meta.json") if m not in metas]
    assert new
    for meta in map(project.storage.read_json, new):
        assert meta["since"] == first_until[meta["query"]]


def test_429_with_retry_after_is_honoured(live):
    from pipelines.ingest import ingest_source

    _, fake, project, name = live
    fake.fail("429")
    result = ingest_source(project, name)
    assert result["retries"] >= 1 and result["posts"] == RECORDS


def test_slow_answers_and_5xx_are_retried(live):
    from pipelines.ingest import ingest_source

    _, fake, project, name = live
    fake.fail("slow", "503")
    result = ingest_source(project, name)
    assert result["retries"] >= 2 and result["posts"] == RECORDS


def test_a_source_that_stays_down_fails_clearly_and_keeps_its_mark(live):
    from pipelines.connectors.base import read_mark
    from pipelines.ingest import ingest_source

    module, fake, project, name = live
    fake.fail("500", "500", "500", "500")
    with pytest.raises(SourceError, match=rf"{name}: .*still failing after 2 retries \(HTTP 500\)"):
        ingest_source(project, name)
    assert not project.storage.glob(f"raw/source={name}/date=*/live-*.jsonl.gz")
    assert read_mark(project, name, module.QUERY) is None, "a failed run does not move the high-water mark"


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
def test_a_malformed_body_fails_with_the_reason(live, fault):
    from pipelines.ingest import ingest_source

    _, fake, project, name = live
    fake.fail(fault)
    with pytest.raises(SourceError, match=name):
        ingest_source(project, name)


def test_missing_credentials_skip_the_source(live, monkeypatch):
    from pipelines.ingest import ingest_source

    module, fake, project, name = live
    if not module.ENV:
        pytest.skip(f"{module.KIND} needs no credentials")
    for key in module.ENV:
        monkeypatch.delenv(key)
    result = ingest_source(project, name)
    assert "skipped" in result and any(key in result["skipped"] for key in module.ENV)
    assert not fake.requests


def test_the_wait_the_server_asks_for():
    from pipelines.connectors.http import _server_wait, retry_after_seconds

    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert _server_wait({"Retry-After": "3", "X-RateLimit-Reset": "99"}) == 3.0
    assert _server_wait({"x-ratelimit-reset": "7"}) == 7.0  # Reddit: seconds until the reset
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    assert 25 <= _server_wait({"X-RateLimit-Reset": later.isoformat()}) <= 30  # Mastodon: a time


def test_queries_landed_before_a_failure_still_become_posts(project_factory):
    """A source fails loudly when one query keeps failing, but the queries it landed before are posts."""
    from pipelines.ingest import ingest_source
    from tests.fake_apis import Reply, hackernews

    class HalfDown(hackernews.Fake):
        def handle(self, request):
            if request.arg("query") == "Kvik":
                return Reply(500, b"down")
            return super().handle(request)

    now = dt.datetime.now(dt.UTC)
    fake = HalfDown([hackernews.record(i, now - dt.timedelta(minutes=30 * i + 5)) for i in range(10)]).start()
    config = hackernews.source(fake.url) | {
        "queries": ["Korvo", "Kvik"],
        "max_retries": 1,
        "rate_per_minute": 6000,
    }
    project = project_factory("half-down", sources=[config])
    try:
        with pytest.raises(SourceError, match="hn: .*still failing"):
            ingest_source(project, "hn")
    finally:
        fake.stop()
    assert len(posts_of(project, "hn")) == 10


def test_huge_and_non_object_records_are_quarantined_with_the_reason(project_factory):
    """A 'post' far longer than any post, and a record that is not a JSON object, lose nothing silently."""
    import json

    from pipelines.ingest import ingest_source
    from tests.fake_apis import Reply, hackernews

    class Odd(hackernews.Fake):
        def handle(self, request):
            reply = super().handle(request)
            body = json.loads(reply.body)
            body["hits"].append("a bare string where an object belongs")
            return Reply.json(body)

    now = dt.datetime.now(dt.UTC)
    huge = hackernews.record(1, now - dt.timedelta(minutes=10), text="Korvo " + "x" * 200_000)
    fake = Odd([hackernews.record(0, now - dt.timedelta(minutes=5)), huge]).start()
    project = project_factory("odd", sources=[hackernews.source(fake.url) | {"rate_per_minute": 6000}])
    try:
        result = ingest_source(project, "hn")
    finally:
        fake.stop()
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT stage, reason FROM read_parquet('{project.storage.path('quarantine')}/**/*.parquet') ORDER BY 1"
        )
        .fetchall()
    )
    assert rows == [
        ("import", "not a JSON object"),
        ("normalise", "text: 200,006 characters, over the 100,000 a post may have"),
    ]
    assert result["posts"] == 1 and result["quarantined"] == 2

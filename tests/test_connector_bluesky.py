"""Bluesky specifics beyond the shared contract: one session per run, cursor paging, the field mapping, and
the bounded Jetstream read (keyword filter, cursor resume, bounds, edits and deletions, early closes)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.connectors.base import Window
from pipelines.connectors.http import SourceError
from tests.fake_apis import bluesky as fake_bsky

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def env(monkeypatch):
    for key, value in fake_bsky.ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def search_api():
    records = [fake_bsky.record(i, NOW - dt.timedelta(minutes=20 * i + 5)) for i in range(120)]
    fake = fake_bsky.Fake(records).start()
    yield fake
    fake.stop()


def make_project(project_factory, search_api, **extra):
    config = fake_bsky.source(search_api.url) | {"rate_per_minute": 6000, "timeout_s": 1, "max_retries": 2}
    return project_factory("bsky", sources=[config | extra])


def posts(project) -> list[dict]:
    glob = project.storage.parquet_glob("posts")
    frame = duckdb.connect().execute(
        f"SELECT native_id, text, url, reply_to, source_language, likes, is_deleted, edited_at, query "
        f"FROM read_parquet('{glob}', hive_partitioning = true) WHERE source = 'bsky' ORDER BY native_id"
    )
    names = [d[0] for d in frame.description]
    return [dict(zip(names, row, strict=True)) for row in frame.fetchall()]


def connector(project):
    from pipelines.connectors.base import connector_for

    return connector_for(project, project.config.source("bsky"))


# -- search ---------------------------------------------------------------------------------------------------
def test_one_session_per_run_and_its_token_on_every_search(env, search_api, project_factory):
    from pipelines.ingest import ingest_source

    project = make_project(project_factory, search_api, queries=["Korvo", "parcel"])
    result = ingest_source(project, "bsky")
    assert search_api.sessions == 1
    searches = [r for r in search_api.requests if r.path.endswith("searchPosts")]
    assert {r.arg("q") for r in searches} == {"Korvo", "parcel"}
    assert all(r.headers["Authorization"] == f"Bearer {fake_bsky.TOKEN}" for r in searches)
    assert all(r.arg("sort") == "latest" and r.arg("limit") == "100" for r in searches)
    assert result["posts"] == 240  # both terms find the 120 posts; the posts layer holds each once
    assert len(posts(project)) == 120


def test_missing_app_password_skips_without_a_request(env, search_api, project_factory, monkeypatch):
    from pipelines.ingest import ingest_source

    monkeypatch.delenv("BLUESKY_APP_PASSWORD")
    result = ingest_source(make_project(project_factory, search_api), "bsky")
    assert "BLUESKY_APP_PASSWORD" in result["skipped"] and not search_api.requests


def test_rejected_password_fails_with_the_reason(env, search_api, project_factory, monkeypatch):
    from pipelines.connectors.http import CredentialsError
    from pipelines.ingest import ingest_source

    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wrong")
    with pytest.raises(CredentialsError, match="bsky: .*createSession answered 401"):
        ingest_source(make_project(project_factory, search_api), "bsky")


def test_cursor_paging_follows_the_cursor_up_to_max_pages(env, search_api, project_factory):
    project = make_project(project_factory, search_api, max_pages=2)
    window = Window(NOW - dt.timedelta(days=3), NOW)
    got = list(connector(project).fetch("Korvo", window))
    searches = [r for r in search_api.requests if r.path.endswith("searchPosts")]
    assert [r.arg("cursor") for r in searches] == [None, "50"] and len(got) == 100

    search_api.requests.clear()
    project = make_project(project_factory, search_api, max_pages=10)
    got = list(connector(project).fetch("Korvo", window))
    searches = [r for r in search_api.requests if r.path.endswith("searchPosts")]
    assert [r.arg("cursor") for r in searches] == [None, "50", "100"] and len(got) == 120
    since = dt.datetime.fromisoformat(searches[0].arg("since").replace("Z", "+00:00"))
    assert since == window.since


def test_search_fields(env, search_api, project_factory):
    project = make_project(project_factory, search_api)
    item = fake_bsky.record(1, NOW - dt.timedelta(minutes=3))
    fields = connector(project).fields(item)
    did, rkey = item["author"]["did"], item["uri"].rsplit("/", 1)[1]
    assert fields["native_id"] == f"at://{did}/app.bsky.feed.post/{rkey}"
    assert fields["author"] == "user1.bsky.social" and fields["author_name"] == "User 1"
    assert fields["url"] == f"https://bsky.app/profile/user1.bsky.social/post/{rkey}"
    assert fields["reply_to"] == item["record"]["reply"]["parent"]["uri"]
    assert fields["language"] == "en" and fields["likes"] == 1 and fields["replies"] == 1
    assert fields["text"].startswith("Korvo") and fields["created_at"] == item["record"]["createdAt"]


# -- Jetstream ------------------------------------------------------------------------------------------------
@pytest.fixture
def jetstream():
    servers = []

    def start(events, **kwargs):
        server = fake_bsky.Jetstream(events, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def stream(count: int = 30, start: dt.datetime | None = None) -> list[dict]:
    """Mostly chatter; every 5th event mentions the brand (in varying case)."""
    start = start or NOW - dt.timedelta(hours=2)
    return [
        fake_bsky.event(
            i, start + dt.timedelta(minutes=i), text=f"is KORVO any good? #{i}" if i % 5 == 0 else None
        )
        for i in range(count)
    ]


def js_project(project_factory, search_api, server, **extra):
    return make_project(
        project_factory, search_api, jetstream_url=server.url, jetstream_max_seconds=5, **extra
    )


def test_jetstream_keeps_only_brand_mentions_from_the_window(env, search_api, project_factory, jetstream):
    server = jetstream([*stream(30), fake_bsky.event(99, NOW + dt.timedelta(minutes=2), text="Korvo later")])
    project = js_project(project_factory, search_api, server)
    window = Window(NOW - dt.timedelta(hours=2), NOW)
    conn = connector(project)
    assert conn.queries() == ["Korvo", "jetstream"]
    got = list(conn.fetch("jetstream", window))
    assert [e["commit"]["record"]["text"] for e in got] == [
        f"is KORVO any good? #{i}" for i in range(0, 30, 5)
    ]
    assert server.requests[0]["cursor"] == [str(fake_bsky.time_us(window.since))]
    assert server.requests[0]["wantedCollections"] == ["app.bsky.feed.post"]


def test_jetstream_resumes_at_the_previous_until(env, search_api, project_factory, jetstream):
    from pipelines.ingest import ingest_source

    server = jetstream([*stream(30), fake_bsky.event(99, NOW + dt.timedelta(hours=1), text="late")])
    project = js_project(project_factory, search_api, server)
    first_until = NOW.replace(second=0) - dt.timedelta(hours=1)
    first = ingest_source(project, "bsky", until=first_until)
    assert server.requests[-1]["cursor"] == [str(fake_bsky.time_us(first_until - dt.timedelta(days=3)))]
    ingest_source(project, "bsky", until=NOW.replace(second=0))
    assert server.requests[-1]["cursor"] == [str(fake_bsky.time_us(first_until))]
    mentions = [p for p in posts(project) if p["query"] == "jetstream"]
    assert len(mentions) == 6 and first["posts"] >= 1


def test_jetstream_max_events_bounds_the_read(env, search_api, project_factory, jetstream):
    server = jetstream(stream(30))
    project = js_project(project_factory, search_api, server, jetstream_max_events=12)
    got = list(connector(project).fetch("jetstream", Window(NOW - dt.timedelta(hours=3), NOW)))
    assert len(got) == 3  # events 0, 5, 10 of the first 12


def test_jetstream_max_seconds_bounds_an_idle_stream(env, search_api, project_factory, jetstream):
    import time

    server = jetstream(stream(10))
    project = make_project(project_factory, search_api, jetstream_url=server.url, jetstream_max_seconds=0.5)
    started = time.monotonic()
    got = list(connector(project).fetch("jetstream", Window(NOW - dt.timedelta(hours=3), NOW)))
    assert len(got) == 2 and time.monotonic() - started < 3


def test_jetstream_updates_and_deletions(env, search_api, project_factory, jetstream):
    from pipelines.ingest import ingest_source

    t = NOW - dt.timedelta(hours=1)
    author, rkey = "did:plc:korvofan", fake_bsky.tid(t, 7)
    other_rkey = fake_bsky.tid(t, 8)
    events = [
        fake_bsky.event(1, t, text="Korvo v1", author=author, rkey=rkey),
        fake_bsky.event(
            2,
            t + dt.timedelta(minutes=1),
            text="Korvo v2 (edited)",
            operation="update",
            author=author,
            rkey=rkey,
            created=t,
        ),  # fmt: skip
        fake_bsky.event(3, t + dt.timedelta(minutes=2), text="Korvo once", author=author, rkey=other_rkey),
        fake_bsky.event(4, t + dt.timedelta(minutes=3), operation="delete", author="did:plc:stranger"),
        fake_bsky.event(5, NOW + dt.timedelta(minutes=5), text="after the window"),
    ]
    server = jetstream(events)
    project = js_project(project_factory, search_api, server)
    result = ingest_source(project, "bsky", until=NOW.replace(second=0))
    assert result["quarantined"] == 0, "a deletion of a post never seen is not even landed"
    by_id = {p["native_id"]: p for p in posts(project) if p["query"] == "jetstream"}
    edited = by_id[f"at://{author}/app.bsky.feed.post/{rkey}"]
    assert (
        edited["text"] == "Korvo v2 (edited)" and edited["edited_at"] is not None and not edited["is_deleted"]
    )
    assert edited["url"] == f"https://bsky.app/profile/{author}/post/{rkey}"

    # A later run sees the deletion of a post ingested before: it is marked deleted, same id, same text.
    server.events.append(fake_bsky.event(6, NOW + dt.timedelta(minutes=6), operation="delete", author=author,
                                         rkey=other_rkey))  # fmt: skip
    server.events.append(fake_bsky.event(7, NOW + dt.timedelta(minutes=20), text="tick"))
    result = ingest_source(project, "bsky", until=NOW.replace(second=0) + dt.timedelta(minutes=10))
    assert result["quarantined"] == 0
    deleted = {p["native_id"]: p for p in posts(project)}[f"at://{author}/app.bsky.feed.post/{other_rkey}"]
    assert deleted["is_deleted"] and deleted["text"] == "Korvo once"


def test_jetstream_delete_in_the_same_read_marks_the_post(env, search_api, project_factory, jetstream):
    from pipelines.ingest import ingest_source

    t = NOW - dt.timedelta(hours=1)
    events = [
        fake_bsky.event(1, t, text="Korvo oops", author="did:plc:a", rkey="3kabc"),
        fake_bsky.event(2, t + dt.timedelta(minutes=1), operation="delete", author="did:plc:a", rkey="3kabc"),
        fake_bsky.event(3, NOW + dt.timedelta(minutes=5), text="tick"),
    ]
    project = js_project(project_factory, search_api, jetstream(events))
    ingest_source(project, "bsky")
    (row,) = [p for p in posts(project) if p["native_id"] == "at://did:plc:a/app.bsky.feed.post/3kabc"]
    assert row["is_deleted"] and row["text"] == "Korvo oops"


def test_a_deletion_of_an_unknown_post_is_quarantined_with_the_reason(env, search_api, project_factory):
    from pipelines.normalise import FieldError

    project = make_project(project_factory, search_api)
    deletion = fake_bsky.event(1, NOW, operation="delete", author="did:plc:x", rkey="3kzzz")
    with pytest.raises(FieldError, match="never ingested"):
        connector(project).fields(deletion)


def test_an_early_close_keeps_what_was_read_and_resumes(env, search_api, project_factory, jetstream):
    server = jetstream(stream(30), close_after=8)
    project = js_project(project_factory, search_api, server, max_retries=10)
    got = list(connector(project).fetch("jetstream", Window(NOW - dt.timedelta(hours=3), NOW)))
    assert len(got) == 6, "reconnected from the last time_us, no event twice"
    assert len(server.requests) >= 4
    assert int(server.requests[1]["cursor"][0]) == stream(30)[7]["time_us"]


def test_a_server_that_goes_away_keeps_what_was_read(env, search_api, project_factory, jetstream):
    from pipelines.ingest import ingest_source

    server = jetstream(stream(30), close_after=11, refuse_after=1)
    project = js_project(project_factory, search_api, server)
    result = ingest_source(project, "bsky")
    assert len([p for p in posts(project) if p["query"] == "jetstream"]) == 3  # events 0, 5, 10
    assert result["posts"] == 123


def test_an_unreachable_jetstream_fails_clearly(env, search_api, project_factory):
    project = make_project(project_factory, search_api, jetstream_url="ws://127.0.0.1:9/subscribe")
    with pytest.raises(SourceError, match=r"bsky: Jetstream ws://127.0.0.1:9/subscribe still failing"):
        list(connector(project).fetch("jetstream", Window(NOW - dt.timedelta(hours=1), NOW)))


def test_an_edit_that_removes_the_mention_still_replaces_the_post(
    env, search_api, project_factory, jetstream
):
    t = NOW - dt.timedelta(hours=1)
    events = [
        fake_bsky.event(1, t, text="Korvo is slow", author="did:plc:a", rkey="3kabc"),
        fake_bsky.event(
            2,
            t + dt.timedelta(minutes=1),
            text="never mind",
            operation="update",
            author="did:plc:a",
            rkey="3kabc",
            created=t,
        ),  # fmt: skip
        fake_bsky.event(3, t + dt.timedelta(minutes=2), text="unrelated edit", operation="update"),
        fake_bsky.event(4, NOW + dt.timedelta(minutes=5), text="tick"),
    ]
    project = js_project(project_factory, search_api, jetstream(events))
    got = list(connector(project).fetch("jetstream", Window(t - dt.timedelta(minutes=1), NOW)))
    assert [e["commit"]["operation"] for e in got] == ["create", "update"]
    fields = connector(project).fields(got[1])
    assert fields["text"] == "never mind" and fields["edited_at"] and fields["native_id"].endswith("/3kabc")

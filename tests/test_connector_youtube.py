"""YouTube specifics beyond the shared contract (tests/test_connectors.py): pageToken paging, the API key
sent but never in an error or a log line, replies flattened into their own posts, channel queries."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from pipelines.connectors.http import SourceError
from tests.fake_apis import youtube as fake_youtube

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
KEY = fake_youtube.KEY


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


@pytest.fixture
def youtube(project_factory, monkeypatch):
    made = []

    def make(records, **overrides):
        fake = fake_youtube.Fake(records).start()
        made.append(fake)
        monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
        config = fake_youtube.source(fake.url) | {"rate_per_minute": 6000, "timeout_s": 2, "max_retries": 1}
        project = project_factory(f"youtube-{len(made)}", sources=[config | overrides])
        return fake, project

    yield make
    for fake in made:
        fake.stop()


def posts(project) -> dict[str, dict]:
    glob = project.storage.parquet_glob("posts")
    cursor = duckdb.connect().execute(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    names = [column[0] for column in cursor.description]
    return {
        row["native_id"]: row
        for row in (dict(zip(names, values, strict=True)) for values in cursor.fetchall())
    }


def threads(count: int, step: float = 10) -> list[dict]:
    return [fake_youtube.record(i, ago(step * i + 5)) for i in range(count)]


def test_page_tokens_are_followed_with_the_documented_parameters(youtube):
    from pipelines.ingest import ingest_source

    fake, project = youtube(threads(160))
    result = ingest_source(project, "youtube")
    assert result["posts"] == 160
    tokens = [r.arg("pageToken") for r in fake.requests]
    assert len(fake.requests) == 4 and tokens[0] is None and all(tokens[1:])
    assert len(set(tokens)) == 4
    for call in fake.requests:
        assert call.path == "/commentThreads"
        assert call.arg("key") == KEY, "the key is sent"
        assert (call.arg("part"), call.arg("videoId"), call.arg("order")) == (
            "snippet,replies",
            fake_youtube.VIDEO,
            "time",
        )
        assert (call.arg("maxResults"), call.arg("textFormat")) == ("100", "plainText")

    # a window of the last 2 hours: the first page (newest first) reaches past its start -> one call
    fake.requests.clear()
    until = NOW.replace(second=0) + dt.timedelta(minutes=1)
    ingest_source(project, "youtube", since=until - dt.timedelta(hours=2), until=until)
    assert len(fake.requests) == 1


def test_max_pages_bounds_the_quota_spent(youtube):
    from pipelines.ingest import ingest_source

    fake, project = youtube(threads(160), max_pages=2)
    result = ingest_source(project, "youtube")
    assert len(fake.requests) == 2 and result["posts"] == 100


@pytest.mark.parametrize("faults", [["500", "500"], ["malformed"], ["truncated"], ["401"]])
def test_the_key_is_in_no_error_message_and_no_log_line(youtube, caplog, faults):
    from pipelines.ingest import ingest_source

    fake, project = youtube(threads(5))
    fake.fail(*faults)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError, match="youtube") as caught:
        ingest_source(project, "youtube")
    assert fake.requests and fake.requests[0].arg("key") == KEY, "the key was sent"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in caplog.text
    assert "/commentThreads" in str(caught.value)
    if faults[0] == "500":
        assert "retry 1/1" in caplog.text, "the retry was logged (without the key)"


def test_a_rejected_key_fails_without_showing_it(youtube, caplog, monkeypatch):
    from pipelines.ingest import ingest_source

    fake, project = youtube(threads(5))
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaWRONG-key-that-must-not-leak")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError, match="API key not valid") as caught:
        ingest_source(project, "youtube")
    assert "AIzaWRONG" not in str(caught.value) and "AIzaWRONG" not in caplog.text


def test_replies_become_posts_answering_their_thread(youtube):
    from pipelines.ingest import ingest_source

    old_thread_id = "UgzOLDTHREAD"
    recent_reply = fake_youtube.comment(
        f"{old_thread_id}.reply1", ago(30), "Still no refund from Korvo", parent=old_thread_id, author=3
    )
    old_reply = fake_youtube.comment(f"{old_thread_id}.reply0", ago(60 * 24 * 5), "old", parent=old_thread_id)
    old = fake_youtube.thread(
        old_thread_id, ago(60 * 24 * 4), "Korvo lost my order", replies=[old_reply, recent_reply]
    )
    new_thread_id = "UgzNEWTHREAD"
    replies = [
        fake_youtube.comment(f"{new_thread_id}.r{i}", ago(10 + i), f"reply {i} about Korvo", parent=new_thread_id,
                             updated=ago(2) if i == 0 else None, author=i)
        for i in range(2)
    ]  # fmt: skip
    new = fake_youtube.thread(new_thread_id, ago(20), "Is Korvo worth it?", replies=replies, author=7)
    fake, project = youtube([new, old])
    result = ingest_source(project, "youtube")
    assert result["posts"] == 4 and result["quarantined"] == 0
    rows = posts(project)
    assert set(rows) == {
        new_thread_id,
        f"{new_thread_id}.r0",
        f"{new_thread_id}.r1",
        f"{old_thread_id}.reply1",
    }
    top = rows[new_thread_id]
    assert top["reply_to"] is None and top["replies"] == 2 and top["likes"] == 7
    assert top["url"] == f"https://www.youtube.com/watch?v={fake_youtube.VIDEO}&lc={new_thread_id}"
    assert top["edited_at"] is None
    first = rows[f"{new_thread_id}.r0"]
    assert first["reply_to"] == top["post_id"] and first["text"] == "reply 0 about Korvo"
    assert first["edited_at"] == ago(2) and first["created_at"] == ago(10)
    assert first["url"] == f"https://www.youtube.com/watch?v={fake_youtube.VIDEO}&lc={new_thread_id}.r0"
    late = rows[f"{old_thread_id}.reply1"]
    assert late["reply_to"] is not None, "a recent reply to a thread older than the window is kept"


def test_a_channel_query_reads_all_threads_of_the_channel(youtube):
    from pipelines.ingest import ingest_source

    other = fake_youtube.thread("UgzOTHERVIDEO", ago(15), "Korvo unboxing, second video", video="otherVideo1")
    fake, project = youtube([*threads(3), other], videos=[], channels=[fake_youtube.CHANNEL])
    result = ingest_source(project, "youtube")
    assert result["queries"] == 1 and result["posts"] == 4
    call = fake.requests[0]
    assert call.arg("allThreadsRelatedToChannelId") == fake_youtube.CHANNEL and call.arg("videoId") is None
    assert posts(project)["UgzOTHERVIDEO"]["url"].endswith("?v=otherVideo1&lc=UgzOTHERVIDEO")


def test_missing_key_skips_without_a_request(youtube, monkeypatch):
    from pipelines.ingest import ingest_source

    fake, project = youtube(threads(3))
    monkeypatch.delenv("YOUTUBE_API_KEY")
    result = ingest_source(project, "youtube")
    assert "YOUTUBE_API_KEY" in result["skipped"] and not fake.requests


def test_fields_fall_back_to_text_display_and_display_name(project_factory):
    from pipelines.connectors.base import connector_for

    project = project_factory(
        "youtube-fields",
        sources=[fake_youtube.source("http://127.0.0.1:9") | {"channels": [fake_youtube.CHANNEL]}],
    )
    connector = connector_for(project, project.config.source("youtube"))
    assert connector.queries() == [fake_youtube.QUERY, f"channel:{fake_youtube.CHANNEL}"]
    item = fake_youtube.record(1, ago(5))
    snippet = item["snippet"]["topLevelComment"]["snippet"]
    snippet.pop("textOriginal")
    snippet.pop("authorChannelId")
    snippet["textDisplay"] = "Korvo &amp; friends<br>second line"
    mapped = connector.fields(item)
    assert mapped["text"] == "Korvo & friends\nsecond line"
    assert mapped["author"] == mapped["author_name"] == "@viewer1"
    assert mapped["created_at"] == fake_youtube.stamp(ago(5)) and mapped["replies"] == 0


def test_a_video_with_comments_disabled_is_skipped_not_a_key_failure(project_factory, monkeypatch):
    from pipelines.ingest import ingest_source
    from tests.fake_apis import Reply
    from tests.fake_apis import youtube as fake_youtube

    class Disabled(fake_youtube.Fake):
        def handle(self, request):
            if request.arg("videoId") == "off":
                body = {"error": {"code": 403, "errors": [{"reason": "commentsDisabled"}],
                                  "message": "The video identified by the videoId parameter has disabled comments."}}  # fmt: skip
                return Reply.json(body, 403)
            return super().handle(request)

    now = dt.datetime.now(dt.UTC)
    fake = Disabled(
        [fake_youtube.record(i, now - dt.timedelta(minutes=20 * i + 5)) for i in range(5)]
    ).start()
    for key, value in fake_youtube.ENV.items():
        monkeypatch.setenv(key, value)
    config = fake_youtube.source(fake.url) | {"rate_per_minute": 6000}
    config["videos"] = ["off", *config.get("videos", [])]
    project = project_factory("yt-disabled", sources=[config])
    try:
        result = ingest_source(project, config["name"])
    finally:
        fake.stop()
    assert result["posts"] == 5

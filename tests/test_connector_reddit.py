"""Reddit specifics beyond the shared contract (tests/test_connectors.py): the client-credentials token,
bearer and User-Agent on every call, ``after`` paging, subreddit listings, deleted and edited items."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

import duckdb
import pytest

from pipelines.connectors.http import SourceError
from tests.fake_apis import Reply
from tests.fake_apis import reddit as fake_reddit

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


@pytest.fixture
def reddit(project_factory, monkeypatch):
    made = []

    def make(records, **overrides):
        fake = fake_reddit.Fake(records).start()
        made.append(fake)
        for key, value in fake_reddit.ENV.items():
            monkeypatch.setenv(key, value)
        config = fake_reddit.source(fake.url) | {"rate_per_minute": 6000, "timeout_s": 2, "max_retries": 1}
        project = project_factory(f"reddit-{len(made)}", sources=[config | overrides])
        return fake, project

    yield make
    for fake in made:
        fake.stop()


def posts(project) -> dict[str, dict]:
    glob = project.storage.parquet_glob("posts")
    con = duckdb.connect()
    cursor = con.execute(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    names = [column[0] for column in cursor.description]
    return {
        row["native_id"]: row
        for row in (dict(zip(names, values, strict=True)) for values in cursor.fetchall())
    }


def test_one_token_with_basic_auth_then_bearer_and_user_agent_everywhere(reddit):
    from pipelines.ingest import ingest_source

    records = [fake_reddit.record(i, ago(10 * i + 5)) for i in range(30)]
    records += [fake_reddit.comment(i, ago(7 * i + 3)) for i in range(12)]
    fake, project = reddit(records, subreddits=["deliveryapps"])
    result = ingest_source(project, "reddit")
    assert result["queries"] == 3  # search:Korvo, r/deliveryapps, r/deliveryapps/comments
    token_calls = [r for r in fake.requests if r.path == "/api/v1/access_token"]
    assert len(token_calls) == 1, "one token for the whole run"
    token = token_calls[0]
    assert token.method == "POST"
    expected = base64.b64encode(b"fake-client-id:fake-client-secret").decode()
    assert token.headers["Authorization"] == f"Basic {expected}"
    assert urllib.parse.parse_qs(token.body.decode()) == {"grant_type": ["client_credentials"]}
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    api_calls = [r for r in fake.requests if r.path != "/api/v1/access_token"]
    assert {r.path for r in api_calls} == {"/search", "/r/deliveryapps/new", "/r/deliveryapps/comments"}
    for call in fake.requests:
        assert call.headers["User-Agent"] == fake_reddit.USER_AGENT
    for call in api_calls:
        assert call.headers["Authorization"] == f"bearer {fake_reddit.TOKEN}"
        assert call.arg("limit") == "100" and call.arg("raw_json") == "1"
    search = next(r for r in api_calls if r.path == "/search")
    assert (search.arg("q"), search.arg("sort"), search.arg("type")) == ("Korvo", "new", "link")
    # the search and the subreddit's /new list the same 30 posts; /comments adds 12 comments
    assert result["posts"] == 30 + 30 + 12 and len(posts(project)) == 42


def test_after_cursor_pages_until_the_window_start(reddit):
    from pipelines.ingest import ingest_source

    # 160 posts 10 minutes apart: 3 days of backfill hold all of them -> 4 pages of 50 (the fake's cap)
    fake, project = reddit([fake_reddit.record(i, ago(10 * i + 5)) for i in range(160)])
    result = ingest_source(project, "reddit")
    searches = [r for r in fake.requests if r.path == "/search"]
    assert [r.arg("after") for r in searches] == [None, "t3_p00049", "t3_p00099", "t3_p00149"]
    assert result["posts"] == 160

    # a window of the last 2 hours: the first page already reaches past its start -> one request
    fake.requests.clear()
    until = NOW.replace(second=0) + dt.timedelta(minutes=1)
    ingest_source(project, "reddit", since=until - dt.timedelta(hours=2), until=until)
    assert len([r for r in fake.requests if r.path == "/search"]) == 1


def test_max_pages_bounds_the_run(reddit):
    from pipelines.ingest import ingest_source

    fake, project = reddit([fake_reddit.record(i, ago(10 * i + 5)) for i in range(160)], max_pages=2)
    result = ingest_source(project, "reddit")
    assert len([r for r in fake.requests if r.path == "/search"]) == 2 and result["posts"] == 100


def test_missing_secret_skips_without_a_request(reddit, monkeypatch):
    from pipelines.ingest import ingest_source

    fake, project = reddit([fake_reddit.record(0, ago(5))])
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    result = ingest_source(project, "reddit")
    assert "REDDIT_CLIENT_SECRET" in result["skipped"]
    assert "fake-client-id" not in result["skipped"]
    assert not fake.requests


def test_rejected_credentials_fail_clearly(reddit, monkeypatch):
    from pipelines.connectors.http import CredentialsError
    from pipelines.ingest import ingest_source

    fake, project = reddit([fake_reddit.record(0, ago(5))])
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "wrong-secret")
    with pytest.raises(CredentialsError, match="reddit: .*access_token answered 401") as caught:
        ingest_source(project, "reddit")
    assert "wrong-secret" not in str(caught.value)


def test_a_token_answer_without_a_token_is_malformed(reddit):
    from pipelines.ingest import ingest_source

    fake, project = reddit([fake_reddit.record(0, ago(5))])
    fake.handle = lambda request: Reply.json({"error": "invalid_grant"})
    with pytest.raises(SourceError, match="reddit: the token endpoint answered without an access_token"):
        ingest_source(project, "reddit")


def test_deleted_edited_and_comment_mapping(reddit):
    from pipelines.ingest import ingest_source

    edited = fake_reddit.record(1, ago(30))
    edited["data"]["edited"] = float(int(ago(10).timestamp()))
    removed = fake_reddit.record(2, ago(40))
    removed["data"].update(selftext="[removed]", removed_by_category="moderator")
    gone_author = fake_reddit.record(3, ago(50))
    gone_author["data"].update(author="[deleted]", selftext="[deleted]")
    reply = fake_reddit.comment(3, ago(20))  # answers t3_p00001
    deleted_comment = fake_reddit.comment(5, ago(25), body="[deleted]")
    deleted_comment["data"]["author"] = "[deleted]"
    fake, project = reddit(
        [edited, removed, gone_author, reply, deleted_comment], subreddits=["deliveryapps"]
    )
    result = ingest_source(project, "reddit")
    assert result["quarantined"] == 1, "a deleted comment has no text left"
    rows = posts(project)
    assert set(rows) == {"t3_p00001", "t3_p00002", "t3_p00003", "t1_c00003"}

    post = rows["t3_p00001"]
    assert (
        post["text"]
        == "Korvo delivery was late again & support ignored me #1\n\nOrdered from Korvo at noon, it came at 3 <sigh> #1"
    )
    assert post["edited_at"].timestamp() == edited["data"]["edited"]
    assert not post["is_deleted"]
    assert post["url"] == "https://www.reddit.com/r/deliveryapps/comments/p00001/korvo_delivery_1/"
    assert post["likes"] == 1 and post["replies"] == 1 and post["reply_to"] is None

    assert (
        rows["t3_p00002"]["is_deleted"]
        and rows["t3_p00002"]["text"] == "Korvo delivery was late again & support ignored me #2"
    )
    assert rows["t3_p00003"]["is_deleted"] and rows["t3_p00003"]["author_id"] is None
    assert rows["t3_p00003"]["edited_at"] is None

    comment = rows["t1_c00003"]
    assert comment["text"] == "Same here, Korvo never refunds & never answers #3"
    assert comment["reply_to"] == post["post_id"]
    assert comment["title"] == "Korvo delivery was late again" and not comment["is_deleted"]


def test_fields_of_a_comment_reply(project_factory):
    from pipelines.connectors.base import connector_for

    project = project_factory("reddit-fields", sources=[fake_reddit.source("http://127.0.0.1:9")])
    connector = connector_for(project, project.config.source("reddit"))
    mapped = connector.fields(fake_reddit.comment(6, ago(5)))
    assert mapped["native_id"] == "t1_c00006" and mapped["reply_to"] == "t1_c00005"
    assert mapped["url"].startswith("https://www.reddit.com/r/deliveryapps/comments/p00001/")
    assert mapped["created_at"] == ago(5).timestamp() and mapped["edited_at"] is None
    assert connector.queries() == ["search:Korvo"]

"""Mastodon specifics the connector contract does not cover: several instances, the optional bearer token,
status search only with a token, Link-header and max_id paging, boosts unwrapped, the field mapping
(edited_at, acct with its domain, replies resolved to status URIs). Local fake servers only."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from pipelines.connectors.base import Window, connector_for, read_mark
from pipelines.connectors.http import Http, MalformedResponse
from pipelines.connectors.mastodon import Mastodon
from tests.fake_apis import Reply, Request
from tests.fake_apis import mastodon as fake_mastodon

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TOKEN = "fake-token-never-logged"


def statuses(count: int, start: int = 0) -> list[dict]:
    return [
        fake_mastodon.record(i, NOW - dt.timedelta(minutes=20 * i + 5)) for i in range(start, start + count)
    ]


@pytest.fixture
def servers():
    started = []

    def start(records, cls=fake_mastodon.Fake):
        fake = cls(records).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture(autouse=True)
def no_token(monkeypatch):
    monkeypatch.delenv("MASTODON_TOKEN", raising=False)


def make_project(project_factory, base_url: str | None, **overrides):
    config = {"name": "masto", "kind": "mastodon", "instances": ["mastodon.social"], "hashtags": ["korvo"],
              "search": False, "rate_per_minute": 6000, "timeout_s": 2, "max_retries": 1, **overrides}  # fmt: skip
    if base_url:
        config["base_url"] = base_url
    return project_factory("masto", sources=[config])


def connector(project) -> Mastodon:
    source = project.config.source("masto")
    return connector_for(project, source, Http("masto", rate_per_minute=6000, timeout_s=2, max_retries=0))


def post_ids(project) -> list[str]:
    glob = project.storage.parquet_glob("posts")
    rows = duckdb.connect().execute(
        f"SELECT native_id FROM read_parquet('{glob}', hive_partitioning = true) WHERE source = 'masto'"
    )
    return sorted(r[0] for r in rows.fetchall())


def window(hours: float = 72) -> Window:
    return Window(NOW - dt.timedelta(hours=hours), NOW)


# -- queries ------------------------------------------------------------------------------------------------
def test_default_queries_are_the_brands_hashtags_on_every_instance(project_factory):
    project = make_project(
        project_factory, None, hashtags=None, instances=["mastodon.social", "https://Fosstodon.org/"]
    )
    queries = connector(project).queries()
    tags = [t.lstrip("#") for b in project.config.brands for t in b.hashtags]
    assert queries == [f"{host} tag:{t}" for host in ("mastodon.social", "fosstodon.org") for t in tags]
    assert "mastodon.social tag:korvo" in queries and not any("#" in q for q in queries)
    assert connector(project).api_root("fosstodon.org") == "https://fosstodon.org"


def test_search_is_skipped_without_a_token_and_queried_with_one(
    project_factory, servers, monkeypatch, caplog
):
    fake = servers(statuses(60))
    project = make_project(project_factory, fake.url, search=True, queries=["Korvo"])
    with caplog.at_level(logging.INFO, logger="pipelines.connectors.mastodon"):
        assert connector(project).queries() == ["mastodon.social tag:korvo"]
    assert "status search skipped" in caplog.text and "MASTODON_TOKEN" in caplog.text

    from pipelines.ingest import ingest_source

    result = ingest_source(project, "masto")
    assert result["queries"] == 1 and not any(r.path == "/api/v2/search" for r in fake.requests)

    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    fake.requests.clear()
    assert connector(project).queries() == ["mastodon.social tag:korvo", "mastodon.social search:Korvo"]
    records = list(connector(project).fetch("mastodon.social search:Korvo", window()))
    assert len(records) == 60
    searches = [r for r in fake.requests if r.path == "/api/v2/search"]
    assert [r.arg("offset") for r in searches] == [None, "40", "60"]  # offset paging until an empty page
    assert all(
        r.arg("q") == "Korvo" and r.arg("type") == "statuses" and r.arg("limit") == "40" for r in searches
    )


# -- instances and the token -----------------------------------------------------------------------------------
def test_several_instances_each_get_their_queries_and_shared_statuses_are_one_post(
    project_factory, servers, monkeypatch
):
    from pipelines.ingest import ingest_source

    social, fosstodon = (
        servers(statuses(10)),
        servers(statuses(10, start=5)),
    )  # statuses 5..9 federated to both
    routes = {"mastodon.social": social.url, "fosstodon.org": fosstodon.url}
    monkeypatch.setattr(Mastodon, "api_root", lambda self, host: routes[host])
    project = make_project(project_factory, None, instances=["mastodon.social", "fosstodon.org"])
    result = ingest_source(project, "masto")
    assert result["queries"] == 2 and result["posts"] == 20
    for fake in (social, fosstodon):
        assert [r.path for r in fake.requests][0] == "/api/v1/timelines/tag/korvo"
    expected = {s["uri"] for s in statuses(15)}
    assert post_ids(project) == sorted(expected), "one post per status uri, whichever instance served it"
    for host in routes:
        assert read_mark(project, "masto", f"{host} tag:korvo") is not None


def test_the_token_is_a_bearer_header_only_when_set_and_never_logged(
    project_factory, servers, monkeypatch, caplog
):
    fake = servers(statuses(50))
    project = make_project(project_factory, fake.url)
    list(connector(project).fetch(fake_mastodon.QUERY, window()))
    assert fake.requests and not any("Authorization" in r.headers for r in fake.requests)

    fake.requests.clear()
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    with caplog.at_level(logging.DEBUG):
        list(connector(project).fetch(fake_mastodon.QUERY, window()))
    assert fake.requests and all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in fake.requests)
    assert TOKEN not in caplog.text


def test_no_token_env_means_anonymous(project_factory, servers, monkeypatch):
    fake = servers(statuses(5))
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    project = make_project(project_factory, fake.url, token_env=None, search=True)
    mastodon = connector(project)
    assert mastodon.queries() == [fake_mastodon.QUERY]
    list(mastodon.fetch(fake_mastodon.QUERY, window()))
    assert not any("Authorization" in r.headers for r in fake.requests)


# -- paging -------------------------------------------------------------------------------------------------------
def test_timeline_pages_follow_the_link_header(project_factory, servers):
    fake = servers(statuses(100))
    records = list(connector(make_project(project_factory, fake.url)).fetch(fake_mastodon.QUERY, window()))
    assert len(records) == 100 and len({r["id"] for r in records}) == 100
    pages = [r for r in fake.requests if r.path.startswith("/api/v1/timelines/tag/")]
    assert [r.arg("max_id") for r in pages] == [None, records[39]["id"], records[79]["id"], records[99]["id"]]
    assert all(r.arg("limit") == "40" for r in pages)


class LinkFake(fake_mastodon.Fake):
    """Sends a Link next that skips ahead (as a server may when it filters statuses out)."""

    def handle(self, request: Request) -> Reply:
        reply = super().handle(request)
        if "Link" in reply.headers:
            reply.headers["Link"] = reply.headers["Link"].replace("max_id=", "max_id=1")
        return reply


class NoLinkFake(fake_mastodon.Fake):
    """A server without Link headers: pages by the last status id."""

    def handle(self, request: Request) -> Reply:
        reply = super().handle(request)
        reply.headers.pop("Link", None)
        return reply


def test_the_link_header_wins_over_the_last_id_and_its_absence_falls_back_to_it(project_factory, servers):
    fake = servers(statuses(50), LinkFake)
    records = list(connector(make_project(project_factory, fake.url)).fetch(fake_mastodon.QUERY, window()))
    assert fake.requests[1].arg("max_id") == "1" + records[39]["id"]

    plain = servers(statuses(50), NoLinkFake)
    records = list(connector(make_project(project_factory, plain.url)).fetch(fake_mastodon.QUERY, window()))
    assert len(records) == 50
    assert [r.arg("max_id") for r in plain.requests] == [None, records[39]["id"], records[49]["id"]]


def test_paging_stops_at_the_window_and_at_max_pages(project_factory, servers):
    fake = servers(statuses(120))  # 20 minutes apart: 3 per hour
    project = make_project(project_factory, fake.url)
    records = list(connector(project).fetch(fake_mastodon.QUERY, window(hours=10)))
    assert len(records) == 30 and len(fake.requests) == 1, "the first page already reaches past the window"

    fake.requests.clear()
    limited = make_project(project_factory, fake.url, max_pages=2)
    records = list(connector(limited).fetch(fake_mastodon.QUERY, window()))
    assert len(records) == 80 and len(fake.requests) == 2


def test_a_search_answer_without_statuses_is_malformed(project_factory, servers, monkeypatch):
    class Broken(fake_mastodon.Fake):
        def handle(self, request: Request) -> Reply:
            return Reply.json({"accounts": [], "hashtags": []})

    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    fake = servers([], Broken)
    project = make_project(project_factory, fake.url, search=True)
    with pytest.raises(MalformedResponse, match="masto"):
        list(connector(project).fetch("mastodon.social search:Korvo", window()))


# -- mapping ------------------------------------------------------------------------------------------------------
def test_boosts_are_unwrapped_and_windowed_by_the_boosted_status(project_factory, servers):
    original = fake_mastodon.status(6, NOW - dt.timedelta(hours=2))
    old = fake_mastodon.status(8, NOW - dt.timedelta(days=10))
    boosts = []
    for n, inner in enumerate((original, old)):
        boost = fake_mastodon.status(100 + n, NOW - dt.timedelta(minutes=10 + n), content="", tags=["other"])
        boost.update(reblog=inner, uri=boost["uri"] + "/activity", content="", tags=[])
        boosts.append(boost)
    fake = servers(boosts)
    records = list(connector(make_project(project_factory, fake.url)).fetch(fake_mastodon.QUERY, window()))
    assert records == [boosts[0]], "the boost of a 10-day-old status is outside the window"
    fields = connector(make_project(project_factory, fake.url)).fields(boosts[0])
    assert fields["native_id"] == original["uri"] and fields["created_at"] == original["created_at"]
    assert (
        fields["author"] == "user6@mastodon.social"
        and "was late again & support didn't answer #6" in fields["text"]
    )


def test_fields_map_edits_content_warnings_accounts_and_counts(project_factory):
    mastodon = connector(make_project(project_factory, None))
    item = fake_mastodon.status(3, NOW - dt.timedelta(hours=1))  # i % 4 == 3: a remote account
    item.update(edited_at="2024-05-02T10:00:00.000Z", spoiler_text="delivery rant", language="de")
    fields = mastodon.fields(item)
    assert fields["edited_at"] == "2024-05-02T10:00:00.000Z"
    assert fields["text"].startswith("delivery rant\n\nKorvo was late again & support didn't answer #3")
    assert "#korvo" in fields["text"] and "<" not in fields["text"]
    assert fields["native_id"] == item["uri"] and fields["url"] == item["url"]
    assert fields["author"] == "user3@fosstodon.org" and fields["author_name"] == "User 3 :blobcat:"
    assert fields["author_bio"] == "Food lover & commuter. Posts about #food"
    assert (fields["likes"], fields["reposts"], fields["replies"]) == (3, 0, 3)
    assert (fields["author_followers"], fields["author_following"], fields["author_post_count"]) == (
        30,
        8,
        103,
    )
    assert fields["author_created_at"] == "2022-11-08T00:00:00.000Z" and fields["author_verified"] is None
    assert fields["language"] == "de" and fields["reply_to"] is None

    bad = mastodon.fields(fake_mastodon.bad_record(NOW))
    assert bad["text"] is None, "a media-only status has no text (quarantined)"
    with pytest.raises(KeyError):
        mastodon.fields({"id": "1", "content": "<p>x</p>", "account": {}})


def test_replies_point_at_the_parent_uri_when_it_can_be_built(project_factory):
    mastodon = connector(make_project(project_factory, None))
    item = fake_mastodon.status(1, NOW)  # local author user1 on mastodon.social
    item.update(in_reply_to_id="112233", in_reply_to_account_id=item["account"]["id"])
    assert mastodon.fields(item)["reply_to"] == "https://mastodon.social/users/user1/statuses/112233"

    local_friend = fake_mastodon.account(2)
    item.update(in_reply_to_account_id=local_friend["id"], mentions=[
        {k: local_friend[k] for k in ("id", "username", "acct", "url")}])  # fmt: skip
    assert mastodon.fields(item)["reply_to"] == "https://mastodon.social/users/user2/statuses/112233"

    remote = fake_mastodon.account(3)
    item.update(in_reply_to_account_id=remote["id"], mentions=[
        {k: remote[k] for k in ("id", "username", "acct", "url")}])  # fmt: skip
    assert mastodon.fields(item)["reply_to"] == "unresolved:112233"

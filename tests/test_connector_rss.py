"""What the RSS/Atom and App Store review connectors do beyond the shared contract (tests/test_connectors.py):
both feed dialects, HTML stripped, windows, paging and its stops, quirks of Apple's review feed. Local
fakes only (tests/fake_apis/rss.py, tests/fake_apis/appstore.py)."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from pipelines.connectors.base import Window, connector_for
from pipelines.connectors.http import Http, MalformedResponse
from schemas.config import AppStoreSource, RssSource
from tests.fake_apis import Reply, Request
from tests.fake_apis import appstore as fake_appstore
from tests.fake_apis import rss as fake_rss

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
WIDE = Window(NOW - dt.timedelta(days=3), NOW + dt.timedelta(minutes=1))


def make(model, config: dict):
    source = model.model_validate(config)
    http = Http(source.name, rate_per_minute=6000, timeout_s=2, max_retries=1, sleep=lambda _: None)
    return connector_for(None, source, http)  # type: ignore[arg-type]  (no project needed: no brand terms)


@pytest.fixture
def serve():
    started = []

    def start(fake_class, records):
        fake = fake_class(records).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def rss_records(n: int) -> list[dict]:
    return [fake_rss.record(i, NOW - dt.timedelta(minutes=20 * i + 5)) for i in range(n)]


def rss_connector(fake, **extra):
    return make(RssSource, fake_rss.source(fake.url) | extra)


# -- RSS / Atom -------------------------------------------------------------------------------------------
def test_rss_2_and_atom_are_both_parsed_and_mapped(serve):
    fake = serve(fake_rss.Fake, rss_records(6))
    conn = rss_connector(fake)
    assert conn.queries() == [fake_rss.QUERY, fake_rss.ORIGIN + fake_rss.ATOM_PATH]

    rss_items = list(conn.fetch(fake_rss.QUERY, WIDE))
    assert [r["id"] for r in rss_items] == [f"{fake_rss.ORIGIN}/story/{i}" for i in (0, 2, 4)]
    first = conn.fields(rss_items[0])
    assert first["native_id"] == f"{fake_rss.ORIGIN}/story/0"
    assert first["title"] == "Korvo delivery update #0"
    assert first["text"] == "Korvo delivery update #0\n\nKorvo was late again & support didn't answer #0"
    assert dt.datetime.fromisoformat(first["created_at"]) == NOW - dt.timedelta(minutes=5)
    assert first["author"] == "Reporter 0"
    assert first["url"] == f"{fake_rss.ORIGIN}/story/0"
    assert first["language"] == "en-us"
    assert first["edited_at"] is None
    assert rss_items[0]["_feed"]["url"] == fake_rss.QUERY  # the configured URL, not the mirror's

    atom_entries = list(conn.fetch(fake_rss.ORIGIN + fake_rss.ATOM_PATH, WIDE))
    assert [r["id"] for r in atom_entries] == [f"{fake_rss.ORIGIN}/story/{i}" for i in (1, 3, 5)]
    entry = conn.fields(atom_entries[0])
    assert entry["text"] == "Korvo delivery update #1\n\nKorvo was late again & support didn't answer #1"
    assert entry["author"] == "Reporter 1"
    assert entry["language"] == "en"
    assert dt.datetime.fromisoformat(entry["created_at"]) == NOW - dt.timedelta(minutes=25)
    # the landed record is plain JSON: times as ISO strings
    assert isinstance(atom_entries[0]["published_parsed"], str)


def test_feeds_are_fetched_from_base_url_with_the_feed_accept_header(serve):
    fake = serve(fake_rss.Fake, rss_records(4))
    conn = rss_connector(fake)
    list(conn.fetch(fake_rss.QUERY, WIDE))
    assert [r.path for r in fake.requests] == [fake_rss.RSS_PATH]
    assert "application/rss+xml" in fake.requests[0].headers["Accept"]
    direct = make(RssSource, {"name": "news", "kind": "rss", "feeds": ["https://example.org/a/feed?x=1"]})
    assert direct._location("https://example.org/a/feed?x=1") == "https://example.org/a/feed?x=1"
    mirrored = make(RssSource, {"name": "news", "kind": "rss", "feeds": ["https://example.org/feed"],
                                "base_url": "http://127.0.0.1:9/mirror/"})  # fmt: skip
    assert mirrored._location("https://example.org/a/feed?x=1") == "http://127.0.0.1:9/mirror/a/feed?x=1"


def test_html_in_summaries_and_content_is_stripped():
    conn = make(RssSource, {"name": "news", "kind": "rss", "feeds": ["https://example.org/feed"]})
    record = {
        "id": "tag:example.org,2026:1",
        "title": "Korvo &amp; friends",
        "title_detail": {"type": "text/html", "language": "de"},
        "summary": "<p>short</p>",
        "summary_detail": {"type": "text/html"},
        "content": [{"type": "text/html", "value": "<div>Full <b>story</b> &amp; more<br/>line two</div>"}],
        "published_parsed": "2026-03-01T10:00:00+00:00",
        "updated_parsed": "2026-03-02T10:00:00+00:00",
        "link": "javascript:alert(1)",
        "_feed": {"language": "en"},
    }
    fields = conn.fields(record)
    assert fields["text"] == "Korvo & friends\n\nFull story & more\nline two"  # content preferred to summary
    assert fields["title"] == "Korvo & friends"
    assert fields["language"] == "de"  # the entry's own xml:lang before the feed's
    assert fields["edited_at"] == "2026-03-02T10:00:00+00:00"
    assert fields["url"] is None  # only http(s) links
    # microblog feeds: a title that is the start of the body is not repeated
    tweet = {
        "id": "1",
        "title": "Korvo is down",
        "summary": "Korvo is down again",
        "published_parsed": "2026-03-01",
    }
    assert conn.fields(tweet)["text"] == "Korvo is down again"


def test_entries_outside_the_window_and_undated_entries_are_skipped(serve, caplog):
    records = rss_records(10)
    records.append(
        {"i": 20, "time": None, "id": f"{fake_rss.ORIGIN}/story/undated", "title": "Korvo undated"}
    )
    fake = serve(fake_rss.Fake, records)
    conn = rss_connector(fake)
    window = Window(NOW - dt.timedelta(minutes=100), NOW - dt.timedelta(minutes=20))
    with caplog.at_level(logging.WARNING):
        got = [r["id"].rsplit("/", 1)[1] for r in conn.fetch(fake_rss.QUERY, window)]
    assert got == ["2", "4"]  # 45 and 85 minutes old; 0 is too new, 6.. too old
    assert "1 entries without a date skipped" in caplog.text


def test_rfc5005_next_links_are_followed_up_to_max_pages_and_stop_past_the_window(serve):
    fake = serve(fake_rss.Fake, rss_records(200))  # 100 even entries: pages of 40, 40, 20
    conn = rss_connector(fake)
    assert len(list(conn.fetch(fake_rss.QUERY, Window(NOW - dt.timedelta(days=30), NOW)))) == 100
    assert [r.query.get("page", ["1"])[0] for r in fake.requests] == ["1", "2", "3"]

    fake.requests.clear()
    assert len(list(rss_connector(fake, max_pages=2).fetch(fake_rss.QUERY, WIDE))) == 80
    assert len(fake.requests) == 2

    fake.requests.clear()  # page 1 reaches back 1565 minutes, page 2 starts at 1605: no page 3
    window = Window(NOW - dt.timedelta(minutes=1590), NOW)
    assert len(list(conn.fetch(fake_rss.QUERY, window))) == 40
    assert len(fake.requests) == 2


class _Serving(fake_rss.Fake):
    body = b""

    def handle(self, request: Request) -> Reply:
        return Reply(200, self.body, {"Content-Type": "application/xml"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!doctype html><html><body><h1>Sign in</h1></body></html>", "did not answer an RSS or Atom feed"),
        (b'{"items": []}', "did not answer an RSS or Atom feed"),
        (b"", "did not answer an RSS or Atom feed"),
        (fake_rss.rss([fake_rss.record(1, NOW)], "https://x/f")[:-40], "truncated feed"),
    ],
)
def test_a_body_that_is_not_a_whole_feed_is_malformed_and_names_the_source(serve, body, reason):
    fake = serve(_Serving, [])
    fake.body = body
    with pytest.raises(MalformedResponse, match=rf"^news: .*{reason}"):
        list(rss_connector(fake).fetch(fake_rss.QUERY, WIDE))


def test_recoverable_xml_slips_are_tolerated(serve):
    fake = serve(_Serving, [])
    fake.body = fake_rss.rss([fake_rss.record(1, NOW - dt.timedelta(minutes=5))], "https://x/f").replace(
        b"Korvo delivery update", b"Korvo & Co delivery update"
    )  # an unescaped '&': not well-formed, but whole
    (item,) = rss_connector(fake).fetch(fake_rss.QUERY, WIDE)
    assert item["title"].startswith("Korvo & Co")


# -- App Store reviews ------------------------------------------------------------------------------------
def reviews(n: int, minutes: int = 20) -> list[dict]:
    return [fake_appstore.record(i, NOW - dt.timedelta(minutes=minutes * i + 5)) for i in range(n)]


def appstore_connector(fake, **extra):
    return make(AppStoreSource, fake_appstore.source(fake.url) | extra)


def test_queries_are_app_and_country_and_hit_the_store_path(serve):
    fake = serve(fake_appstore.Fake, reviews(3))
    conn = appstore_connector(fake, apps=[{"id": "111", "countries": ["us", "GB", "us"]}, {"id": "222"}])
    assert conn.queries() == ["111/us", "111/gb", "222/us"]
    assert list(conn.fetch("111/gb", WIDE)) == []
    assert [r.path for r in fake.requests] == ["/gb/rss/customerreviews/page=1/id=111/sortby=mostrecent/json"]


def test_the_app_entry_is_skipped_and_a_lone_review_as_an_object_is_read(serve):
    fake = serve(
        fake_appstore.Fake, reviews(51, minutes=1)
    )  # page 1: the app + 50 reviews; page 2: one object
    conn = appstore_connector(fake)
    got = list(conn.fetch(fake_appstore.QUERY, WIDE))
    assert len(got) == 51 and all("im:rating" in r for r in got)
    assert [r.path.split("/")[4] for r in fake.requests] == ["page=1", "page=2"]  # 'last' link says 2 pages


def test_review_fields_rating_votes_author_and_link():
    conn = make(AppStoreSource, {"name": "ios", "kind": "appstore", "apps": [{"id": fake_appstore.APP}]})
    review = fake_appstore.record(7, NOW, text="Crashes at checkout", rating=2)
    fields = conn.fields(review)
    assert fields["native_id"] == "11000000007"
    assert fields["text"] == "Korvo app review #7\n\nCrashes at checkout"
    assert fields["title"] == "Korvo app review #7"
    assert fields["rating"] == "2" and fields["likes"] == "1"
    assert fields["author"] == "https://itunes.apple.com/us/reviews/id900007"
    assert fields["author_name"] == "reviewer7"
    assert dt.datetime.fromisoformat(fields["created_at"]) == NOW
    assert fields["url"].startswith("https://itunes.apple.com/us/review?id=")
    assert fields["language"] is None


def test_rating_lands_in_posts(serve, project_factory):
    from pipelines.ingest import ingest_source

    fake = serve(fake_appstore.Fake, [fake_appstore.record(i, NOW - dt.timedelta(hours=i + 1), rating=i + 1)
                                      for i in range(5)])  # fmt: skip
    project = project_factory("appstore-rating", sources=[fake_appstore.source(fake.url)])
    result = ingest_source(project, "ios_reviews")
    assert result["posts"] == 5 and result["quarantined"] == 0
    rows = duckdb.connect().execute(
        f"SELECT native_id, rating, query FROM read_parquet('{project.storage.parquet_glob('posts')}', "
        "hive_partitioning = true) ORDER BY native_id"
    ).fetchall()  # fmt: skip
    assert [(r[1], r[2]) for r in rows] == [(float(i + 1), fake_appstore.QUERY) for i in range(5)]


def test_paging_stops_at_the_window_start_and_at_max_pages(serve):
    fake = serve(fake_appstore.Fake, reviews(300, minutes=10))  # 6 pages of 50, 500 minutes a page
    conn = appstore_connector(fake)
    window = Window(NOW - dt.timedelta(hours=10), NOW)  # reaches into page 2
    got = list(conn.fetch(fake_appstore.QUERY, window))
    assert len(got) == 60  # 5, 15, ... 595 minutes old
    assert len(fake.requests) == 2

    fake.requests.clear()
    assert len(list(appstore_connector(fake, max_pages=3).fetch(fake_appstore.QUERY, WIDE))) == 150
    assert len(fake.requests) == 3

    fake.requests.clear()
    assert len(list(conn.fetch(fake_appstore.QUERY, WIDE))) == 300
    assert len(fake.requests) == 6  # the 'last' page


def test_a_page_past_the_end_and_a_wrong_shape(serve):
    fake = serve(fake_appstore.Fake, [])
    fake.app_entry = False
    assert list(appstore_connector(fake).fetch(fake_appstore.QUERY, WIDE)) == []
    assert len(fake.requests) == 1

    class Wrong(fake_appstore.Fake):
        def handle(self, request: Request) -> Reply:
            return Reply.json({"feed": {"entry": "nope"}})

    wrong = serve(Wrong, [])
    with pytest.raises(MalformedResponse, match=r"^ios_reviews: .*'entry' is a str"):
        list(appstore_connector(wrong).fetch(fake_appstore.QUERY, WIDE))

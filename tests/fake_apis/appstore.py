"""Apple's customer-review feed (``/<country>/rss/customerreviews/page=<n>/id=<app>/sortby=mostrecent/json``):
50 reviews a page, newest first, pages 1..10, the app's own entry first on page 1, a lone review served
as an object, no ``entry`` past the end; reviews only in the ``us`` store."""

from __future__ import annotations

import datetime as dt
import re

from tests.fake_apis import FakeApi, Reply, Request

KIND = "appstore"
ENV: dict[str, str] = {}  # no credentials
APP = "1234567890"
QUERY = f"{APP}/us"
PAGE_SIZE = 50
PACIFIC = dt.timezone(dt.timedelta(hours=-7))
_PATH_RE = re.compile(r"^/(?P<country>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)"
                      r"/sortby=mostrecent/json$")  # fmt: skip


def source(base_url: str) -> dict:
    return {"name": "ios_reviews", "kind": KIND, "base_url": base_url,
            "apps": [{"id": APP, "countries": ["us", "GB"]}]}  # fmt: skip


def _label(value: object) -> dict:
    return {"label": str(value)}


def record(i: int, when: dt.datetime, text: str | None = None, rating: int | None = None) -> dict:
    return {
        "author": {"uri": _label(f"https://itunes.apple.com/us/reviews/id{900_000 + i % 23}"),
                   "name": _label(f"reviewer{i % 23}"), "label": ""},  # fmt: skip
        "updated": _label(when.astimezone(PACIFIC).isoformat()),
        "im:rating": _label(rating or 1 + i % 5),
        "im:version": _label(f"4.{i % 3}"),
        "id": _label(11_000_000_000 + i),
        "title": _label(f"Korvo app review #{i}"),
        "content": {"label": text or f"Late again & support never answers (#{i})", "attributes": {"type": "text"}},
        "link": {"attributes": {"rel": "related", "href": f"https://itunes.apple.com/us/review?id={APP}&type=Purple%20Software"}},
        "im:voteSum": _label(i % 4),
        "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": _label(i % 6),
    }  # fmt: skip


def bad_record(when: dt.datetime) -> dict:
    bad = record(0, when)
    bad["id"], bad["title"], bad["content"] = (
        _label("bad-1"),
        _label(""),
        {"label": "", "attributes": {"type": "text"}},
    )
    return bad


APP_ENTRY = {
    "im:name": _label("Korvo Delivery"),
    "rights": _label("© Korvo Inc."),
    "im:price": {"label": "Get", "attributes": {"amount": "0.00", "currency": "USD"}},
    "id": {"label": f"https://apps.apple.com/us/app/korvo/id{APP}?uo=2", "attributes": {"im:id": APP}},
    "title": _label("Korvo Delivery - Korvo Inc."),
    "link": {"attributes": {"rel": "alternate", "type": "text/html", "href": f"https://apps.apple.com/us/app/korvo/id{APP}"}},
    "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
}  # fmt: skip


def feed(app: str, country: str, page: int, entries: list[dict], last: int) -> dict:
    base = f"https://itunes.apple.com/{country}/rss/customerreviews"
    body: dict = {
        "author": {"name": _label("iTunes Store"), "uri": _label("http://www.apple.com/us/itunes/")},
        "updated": _label("2026-11-20T09:00:00-07:00"),
        "title": _label("iTunes Store: Customer Reviews"),
        "link": [
            {"attributes": {"rel": "alternate", "type": "text/html",
                            "href": f"https://apps.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc={country}&id=1"}},
            {"attributes": {"rel": "self", "href": f"{base}/page={page}/id={app}/sortby=mostrecent/json"}},
            {"attributes": {"rel": "first", "href": f"{base}/page=1/id={app}/sortby=mostrecent/xml?urlDesc=/customerreviews/id={app}/sortby=mostrecent/json"}},
            {"attributes": {"rel": "last", "href": f"{base}/page={last}/id={app}/sortby=mostrecent/xml?urlDesc=/customerreviews/id={app}/sortby=mostrecent/json"}},
        ],
        "id": _label(f"{base}/page={page}/id={app}/sortby=mostrecent/json"),
    }  # fmt: skip
    if entries:
        body["entry"] = (
            entries[0] if len(entries) == 1 else entries
        )  # Apple's XML-to-JSON: a lone entry is an object
    return {"feed": body}


class Fake(FakeApi):
    app_entry = True  # page 1 starts with the app itself

    def handle(self, request: Request) -> Reply:
        found = _PATH_RE.match(request.path)
        if not found:
            return Reply(404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"})
        app, country, page = found["app"], found["country"], int(found["page"])
        if page > 10:
            return Reply(400, b"<html><body>Bad Request</body></html>", {"Content-Type": "text/html"})
        reviews = self.records if (app, country) == (APP, "us") else []
        reviews = sorted(
            reviews, key=lambda r: dt.datetime.fromisoformat(r["updated"]["label"]), reverse=True
        )
        reviews = reviews[: PAGE_SIZE * 10]  # Apple keeps the 500 most recent
        last = max(1, (len(reviews) + PAGE_SIZE - 1) // PAGE_SIZE)
        entries = reviews[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if page == 1 and self.app_entry and (app, country) == (APP, "us"):
            entries = [APP_ENTRY, *entries]
        return Reply.json(feed(app, country, page, entries, last))

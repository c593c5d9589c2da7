"""Apple App Store customer reviews through the public customer-review feed (no credentials).

Request: ``GET {base}/<country>/rss/customerreviews/page=<n>/id=<app id>/sortby=mostrecent/json``
(``base`` = ``https://itunes.apple.com``; n = 1..10). Response::

    {"feed": {"entry": [{"id": {"label": "11223344556"},
                         "author": {"name": {"label": "nick"}, "uri": {"label": ".../reviews/id123"}},
                         "updated": {"label": "2026-11-20T08:01:02-07:00"},
                         "im:rating": {"label": "1"}, "im:version": {"label": "4.2"},
                         "title": {"label": "..."}, "content": {"label": "...", "attributes": {"type": "text"}},
                         "im:voteSum": {"label": "0"}, "im:voteCount": {"label": "0"},
                         "link": {"attributes": {"rel": "related", "href": "https://itunes.apple.com/..."}}},
                        ...],
              "link": [{"attributes": {"rel": "last", "href": ".../page=10/id=.../..."}}, ...]}}

* Queries: ``<app id>/<country>`` for each configured app and store country (each has its own
  high-water mark; the country is in the post's ``query``).
* Paging: up to 50 reviews a page, newest first; pages 1..10 at most (Apple serves only the ~500 most
  recent reviews per app and country: a busy app must be polled often enough not to lose any). Stops at
  an empty page, the feed's ``last`` page, page 10 or ``max_pages``, or after a page that reaches back
  past the window's start.
* Quirks: page 1 may start with an entry for the app itself (no ``im:rating``): skipped; a page with a
  single review carries ``entry`` as an object, not a list; a page past the end has no ``entry``.
* Window: a review's time is ``updated`` (a reviewer who edits a review moves it up the feed and to its
  new time); reviews outside [since, until) are not landed. Raw records are the review entries as
  received.
* Fields: the reviewer's profile URI (``author.uri``, stable) is the author identity, the nickname is
  ``author_name``; ``im:voteCount`` is ``likes``; no language is declared (detected downstream).
* Apple documents no rate limit for this feed; it answers 403/503 to bursts: keep ``rate_per_minute``
  modest (the default 30 is fine).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, register, utc
from pipelines.connectors.http import MalformedResponse

log = logging.getLogger(__name__)

LAST_PAGE = 10  # Apple serves pages 1..10 of 50 reviews
_PAGE_RE = re.compile(r"/page=(\d+)/")


def label(record: dict, key: str) -> str | None:
    """The ``label`` of ``record[key]`` (Apple's JSON wraps every value as {"label": ...})."""
    value = record.get(key)
    if isinstance(value, dict):
        value = value.get("label")
    if value is None:
        return None
    return str(value).strip() or None


def review_time(record: dict) -> dt.datetime:
    return utc(dt.datetime.fromisoformat(label(record, "updated") or ""))


def _last_page(feed: dict) -> int | None:
    links = feed.get("link")
    for link in links if isinstance(links, list) else [links]:
        attributes = link.get("attributes") if isinstance(link, dict) else None
        if isinstance(attributes, dict) and attributes.get("rel") == "last":
            found = _PAGE_RE.search(urllib.parse.urlsplit(str(attributes.get("href") or "")).path)
            if found:
                return int(found.group(1))
    return None


@register
class AppStore(Connector):
    kind = "appstore"
    default_base_url = "https://itunes.apple.com"

    def queries(self) -> list[str]:
        return list(
            dict.fromkeys(f"{app.id}/{c.strip().lower()}" for app in self.source.apps for c in app.countries)
        )

    def _page(self, app: str, country: str, page: int) -> tuple[list, int | None]:
        url = f"{self.base_url}/{country}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/json"
        body = self.http.get_json(url)
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, dict):
            raise MalformedResponse(f"{self.source.name}: customer reviews of {app}/{country} page {page} "
                                    "answered without a 'feed' object")  # fmt: skip
        entries = feed.get("entry", [])
        if isinstance(entries, dict):  # a single entry comes as an object
            entries = [entries]
        if not isinstance(entries, list):
            raise MalformedResponse(f"{self.source.name}: customer reviews of {app}/{country} page {page}: "
                                    f"'entry' is a {type(entries).__name__}")  # fmt: skip
        return entries, _last_page(feed)

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        app, _, country = query.partition("/")
        undated = 0
        for page in range(1, min(self.source.max_pages, LAST_PAGE) + 1):
            entries, last = self._page(app, country, page)
            reviews = [e for e in entries if isinstance(e, dict) and "im:rating" in e]  # not the app entry
            oldest = None
            for review in reviews:
                try:
                    moment = review_time(review)
                except (ValueError, TypeError):
                    undated += 1
                    continue
                oldest = moment if oldest is None else min(oldest, moment)
                if moment in window:
                    yield review
            if not reviews or (oldest is not None and oldest < window.since) or (last and page >= last):
                break
        if undated:
            log.warning(
                "%s: %s: %d reviews without a readable date skipped", self.source.name, query, undated
            )

    def fields(self, record: dict) -> dict:
        title = label(record, "title")
        content = label(record, "content")
        text = "\n\n".join(part for part in (title, content) if part) or None
        author = record.get("author") if isinstance(record.get("author"), dict) else {}
        link = record.get("link")
        links = link if isinstance(link, list) else [link]
        hrefs = [str((x.get("attributes") or {}).get("href") or "") for x in links if isinstance(x, dict)]
        url = next((h for h in hrefs if h.startswith(("https://", "http://"))), None)
        return {
            "native_id": label(record, "id"),
            "text": text,
            "created_at": label(record, "updated"),
            "author": label(author, "uri") or label(author, "name"),
            "author_name": label(author, "name"),
            "title": title,
            "rating": label(record, "im:rating"),
            "likes": label(record, "im:voteCount"),
            "url": url,
            "language": None,
        }

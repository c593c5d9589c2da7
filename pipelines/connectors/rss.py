"""Any RSS or Atom feed: news search feeds, blogs, brand newsrooms, forum or review-site feeds (no
credentials). Parsed with feedparser, which reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0.

Request: ``GET <feed url>`` with ``Accept: application/rss+xml, application/atom+xml,
application/xml;q=0.9, */*;q=0.8`` (through the shared client: pacing, retries of 429/5xx/timeouts).
Response: an XML document, RSS 2.0 ``<rss><channel><language/><item><guid/><title/><link/>
<description/>`` (HTML, escaped) ``<content:encoded/><pubDate/>`` (RFC 822) ``<author/>|<dc:creator/>``
or Atom ``<feed xml:lang><entry><id/><title/><link href/><summary type="html"/><content/><published/>
<updated/>`` (RFC 3339) ``<author><name/></author>``.

* Queries: the configured ``feeds`` (each feed URL has its own high-water mark). ``queries`` (search
  terms) are not used: the feed decides what it carries; brands are linked downstream.
* Paging: a plain feed is one document holding its latest N entries (N is the publisher's choice,
  often 10-50): poll it more often than it rolls over, or entries are lost. RFC 5005 paged feeds
  (``<link rel="next">``, ``<atom:link rel="next">`` in RSS) are followed up to ``max_pages``, newest
  page first, stopping at a page whose entries are all older than the window. Archived feeds
  (``prev-archive``) are not walked.
* Window: an entry's time is ``published`` (else ``updated``); entries outside [since, until) are not
  landed. Entries with neither date cannot be placed in a window: they are skipped and counted in a
  warning (landing them on every run would only quarantine the same entries again and again).
* Raw records: one JSON object per entry with the fields exactly as feedparser parsed them (``*_parsed``
  time tuples as ISO 8601 UTC strings), plus ``_feed``: the configured feed URL and the feed's title,
  link and language (an entry inherits the feed's language).
* ``base_url``: when set, every feed (and next-page link) is fetched from that origin instead, same path
  and query (a mirror, a caching proxy or a local test server); marks stay keyed by the configured URL.
* Failures: a body that is not a feed (an HTML error page, JSON, nothing) or a truncated feed (an XML
  error and no closing ``</rss>``/``</feed>``/``</rdf:RDF>``) raises ``MalformedResponse``; other XML
  slips (a stray ``&``, a wrong encoding declaration) are tolerated as feedparser recovers them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import logging
import re
import time
import urllib.parse
from collections.abc import Iterator

import feedparser

from pipelines.connectors.base import Connector, Window, html_to_text, register
from pipelines.connectors.http import MalformedResponse

log = logging.getLogger(__name__)

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
_CLOSED_RE = re.compile(rb"</\s*(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*$")
_FEED_KEYS = ("title", "link", "language")


def _plain(value: object) -> object:
    """A feedparser value as JSON: dicts and lists kept, time tuples as ISO 8601 UTC strings."""
    if isinstance(value, time.struct_time):
        return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC).isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def entry_time(record: dict, *keys: str) -> dt.datetime | None:
    """The first of the record's ``*_parsed`` times (ISO strings in landed records) that is set."""
    for key in keys:
        value = record.get(f"{key}_parsed")
        if value:
            moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None


def _is_html(detail: object) -> bool:
    return isinstance(detail, dict) and "html" in str(detail.get("type") or "")


@register
class Rss(Connector):
    kind = "rss"
    default_base_url = ""  # feeds are full URLs; base_url, when set, only replaces their origin

    def queries(self) -> list[str]:
        return list(dict.fromkeys(self.source.feeds))

    def _location(self, url: str) -> str:
        """Where a feed URL is fetched from: itself, or the same path and query under ``base_url``."""
        if not self.base_url:
            return url
        parts, base = urllib.parse.urlsplit(url), urllib.parse.urlsplit(self.base_url)
        path = base.path.rstrip("/") + (parts.path or "/")
        return urllib.parse.urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def _parse(self, url: str, where: str):
        response = self.http.request(where, headers={"Accept": ACCEPT})
        parsed = feedparser.parse(
            io.BytesIO(response.body),
            response_headers={
                "content-location": url,  # relative links resolve against the real feed, not a mirror
                "content-type": response.headers.get("Content-Type", "application/xml"),
            },
        )
        start = response.body[:60]
        if not parsed.get("version") and not parsed.entries:
            raise MalformedResponse(
                f"{self.source.name}: {url} did not answer an RSS or Atom feed "
                f"({len(response.body)} bytes, starting {start!r})"
            )
        if parsed.get("bozo") and not _CLOSED_RE.search(response.body.rstrip()[-200:]):
            raise MalformedResponse(
                f"{self.source.name}: {url} answered a truncated feed ({parsed.get('bozo_exception')}; "
                f"{len(response.body)} bytes)"
            )
        return parsed

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        url, seen, undated = query, set(), 0
        for _ in range(self.source.max_pages):
            seen.add(url)
            parsed = self._parse(url, self._location(url))
            feed = {"url": query, **{key: parsed.feed.get(key) for key in _FEED_KEYS}}
            if not feed["language"]:
                feed["language"] = (parsed.feed.get("title_detail") or {}).get("language")
            older = dated = 0
            for entry in parsed.entries:
                record = _plain(entry)
                moment = entry_time(record, "published", "updated", "created")
                if moment is None:
                    undated += 1
                    continue
                dated += 1
                if moment < window.since:
                    older += 1
                elif moment in window:
                    yield {**record, "_feed": feed}
            following = [
                link.get("href")
                for link in parsed.feed.get("links", [])
                if link.get("rel") == "next" and link.get("href")
            ]
            if not following or following[0] in seen or (dated and older == dated):
                break
            url = following[0]
        if undated:
            log.warning("%s: %s: %d entries without a date skipped", self.source.name, query, undated)

    def fields(self, record: dict) -> dict:
        feed = record.get("_feed") or {}
        title = record.get("title") or None
        if title and _is_html(record.get("title_detail")):
            title = html_to_text(title) or None
        content = [c for c in record.get("content") or [] if isinstance(c, dict) and c.get("value")]
        body = content[0]["value"] if content else record.get("summary") or ""
        detail = content[0] if content else record.get("summary_detail")
        body = html_to_text(body) if _is_html(detail) or not detail else body.strip()
        # microblog-style feeds repeat the start of the body as the title: keep it once
        title_part = None if title and body.startswith(title) else title
        text = "\n\n".join(part for part in (title_part, body) if part) or None
        published = entry_time(record, "published", "created")
        updated = entry_time(record, "updated")
        created = published or updated
        link = record.get("link") or ""
        author = record.get("author_detail") or {}
        language = next(
            (
                d.get("language")
                for d in (record.get("title_detail"), detail)
                if isinstance(d, dict) and d.get("language")
            ),
            feed.get("language"),
        )
        return {
            "native_id": record.get("id") or link or None,
            "text": text,
            "created_at": created.isoformat() if created else None,
            "edited_at": updated.isoformat() if published and updated and updated > published else None,
            "author": author.get("name") or author.get("email") or record.get("author") or None,
            "title": title,
            "url": link if link.startswith(("https://", "http://")) else None,
            "language": language or None,
        }

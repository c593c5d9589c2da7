"""A news site's feeds: an RSS 2.0 feed paged by RFC 5005 ``<atom:link rel="next">`` (even-numbered
entries, 40 per page) and an Atom 1.0 feed in one document (odd-numbered entries). The source lists the
feeds under their real origin (``https://news.example.com``) and sets ``base_url`` to the fake, so the
connector's mirror rewriting is exercised and ``QUERY`` is a plain constant."""

from __future__ import annotations

import datetime as dt
import email.utils
from xml.sax.saxutils import escape, quoteattr

from tests.fake_apis import FakeApi, Reply, Request

KIND = "rss"
ENV: dict[str, str] = {}  # no credentials
ORIGIN = "https://news.example.com"
RSS_PATH, ATOM_PATH = "/korvo/rss.xml", "/korvo/atom.xml"
QUERY = ORIGIN + RSS_PATH
PAGE_SIZE = 40


def source(base_url: str) -> dict:
    return {"name": "news", "kind": KIND, "base_url": base_url, "feeds": [QUERY, ORIGIN + ATOM_PATH]}


def record(i: int, when: dt.datetime, text: str | None = None) -> dict:
    return {
        "i": i,
        "time": when,
        "id": f"{ORIGIN}/story/{i}",
        "title": f"Korvo delivery update #{i}",
        "summary": text or f"<p>Korvo was late again &amp; support didn&#x27;t answer <b>#{i}</b></p>",
        "link": f"{ORIGIN}/story/{i}",
        "author": f"reporter{i % 7}@news.example.com (Reporter {i % 7})",
    }


def bad_record(when: dt.datetime) -> dict:
    return {"i": 0, "time": when, "id": f"{ORIGIN}/story/bad-1"}  # no title, no summary: no text


def rss_item(r: dict) -> str:
    parts = [f"<guid isPermaLink='false'>{escape(r['id'])}</guid>"]
    if r.get("time"):
        parts.append(f"<pubDate>{email.utils.format_datetime(r['time'], usegmt=True)}</pubDate>")
    for key, tag in (("title", "title"), ("link", "link"), ("summary", "description"), ("author", "author")):
        if r.get(key):
            parts.append(f"<{tag}>{escape(r[key])}</{tag}>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[dict], self_url: str, next_url: str | None = None, language: str = "en-us") -> bytes:
    links = f"<atom:link rel='self' href={quoteattr(self_url)}/>"
    if next_url:
        links += f"<atom:link rel='next' href={quoteattr(next_url)}/>"
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel>"
        f"<title>Korvo news</title><link>{ORIGIN}/korvo</link><description>Stories</description>"
        f"<language>{language}</language>{links}" + "".join(rss_item(r) for r in items) + "</channel></rss>"
    ).encode("utf-8")


def atom_entry(r: dict) -> str:
    parts = [f"<id>{escape(r['id'])}</id>"]
    if r.get("time"):
        stamp = r["time"].isoformat()
        parts.append(
            f"<published>{stamp}</published><updated>{r.get('updated', r['time']).isoformat()}</updated>"
        )
    if r.get("title"):
        parts.append(f"<title>{escape(r['title'])}</title>")
    if r.get("link"):
        parts.append(f"<link rel='alternate' href={quoteattr(r['link'])}/>")
    if r.get("summary"):
        parts.append(f"<summary type='html'>{escape(r['summary'])}</summary>")
    if r.get("author"):
        name = r["author"].split("(")[-1].rstrip(")")
        parts.append(f"<author><name>{escape(name)}</name></author>")
    return "<entry>" + "".join(parts) + "</entry>"


def atom(entries: list[dict], language: str = "en") -> bytes:
    newest = max(
        (e["time"] for e in entries if e.get("time")), default=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?>"
        f"<feed xmlns='http://www.w3.org/2005/Atom' xml:lang='{language}'>"
        f"<id>{ORIGIN}{ATOM_PATH}</id><title>Korvo news (Atom)</title><updated>{newest.isoformat()}</updated>"
        f"<link rel='self' href='{ORIGIN}{ATOM_PATH}'/>" + "".join(atom_entry(e) for e in entries) + "</feed>"
    ).encode("utf-8")


class Fake(FakeApi):
    def handle(self, request: Request) -> Reply:
        newest_first = sorted(self.records, key=lambda r: r.get("time") or dt.datetime.max.replace(tzinfo=dt.UTC),
                              reverse=True)  # fmt: skip
        headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if request.path == RSS_PATH:
            items = [r for r in newest_first if r["i"] % 2 == 0]
            page = int(request.arg("page", "1"))
            chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            more = page * PAGE_SIZE < len(items)
            next_url = f"{ORIGIN}{RSS_PATH}?page={page + 1}" if more else None
            return Reply(200, rss(chunk, f"{ORIGIN}{RSS_PATH}?page={page}", next_url), headers)
        if request.path == ATOM_PATH:
            entries = [r for r in newest_first if r["i"] % 2 == 1]
            return Reply(200, atom(entries), {"Content-Type": "application/atom+xml; charset=utf-8"})
        return Reply(404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"})

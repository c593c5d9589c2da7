"""Algolia's Hacker News search API (https://hn.algolia.com/api): search_by_date with numericFilters."""

from __future__ import annotations

import datetime as dt
import re

from tests.fake_apis import FakeApi, Reply, Request, epoch

KIND = "hackernews"
ENV: dict[str, str] = {}  # no credentials
QUERY = "Korvo"


def source(base_url: str) -> dict:
    return {"name": "hn", "kind": KIND, "base_url": base_url, "queries": [QUERY]}


def record(i: int, when: dt.datetime, text: str | None = None) -> dict:
    comment = i % 3 != 0
    return {
        "objectID": str(40_000_000 + i),
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "created_at_i": epoch(when),
        "author": f"hn_user_{i % 17}",
        "title": None if comment else f"Show HN: {QUERY} delivery tracker #{i}",
        "story_title": f"{QUERY} raises prices" if comment else None,
        "comment_text": (text or f"<p>{QUERY} was late again &amp; support didn&#x27;t answer #{i}</p>")
        if comment
        else None,
        "story_text": None,
        "url": None,
        "parent_id": 39_999_000 + i if comment else None,
        "points": None if comment else i,
        "num_comments": None if comment else 3,
        "_tags": ["comment" if comment else "story"],
    }


def bad_record(when: dt.datetime) -> dict:
    return {"objectID": "bad-1", "created_at_i": epoch(when), "author": "x", "story_title": QUERY}  # no text


class Fake(FakeApi):
    page_size_cap = 50  # Algolia returns at most hitsPerPage; the fake pages at 50 to force paging

    def handle(self, request: Request) -> Reply:
        if request.path != "/search_by_date":
            return Reply.json({"message": "not found"}, 404)
        query = (request.arg("query") or "").lower()
        bounds = dict(re.findall(r"created_at_i(>=|<)(\d+)", request.arg("numericFilters", "")))
        low, high = int(bounds.get(">=", 0)), int(bounds.get("<", 2**62))
        hits = [r for r in self.records
                if low <= r["created_at_i"] < high
                and query in " ".join(str(r.get(k) or "") for k in ("title", "comment_text", "story_title")).lower()]  # fmt: skip
        hits.sort(key=lambda r: -r["created_at_i"])
        size = min(int(request.arg("hitsPerPage", "20")), self.page_size_cap)
        page = int(request.arg("page", "0"))
        pages = (len(hits) + size - 1) // size
        return Reply.json({"hits": hits[page * size:(page + 1) * size], "page": page, "nbPages": pages,
                           "nbHits": len(hits), "hitsPerPage": size})  # fmt: skip

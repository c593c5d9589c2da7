"""Hacker News through the Algolia search API (no credentials).

Request: ``GET {base}/search_by_date?query=<term>&tags=(story,comment)&hitsPerPage=100&page=<n>
&numericFilters=created_at_i>=<since>,created_at_i<<until>`` (epoch seconds). Response:
``{"hits": [{"objectID", "created_at_i", "author", "title", "story_title", "story_text", "comment_text",
"url", "parent_id", "points", "num_comments", ...}], "page", "nbPages"}``. Pages until ``nbPages`` or
``max_pages``. Algolia allows about 10,000 requests an hour per IP.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, html_to_text, register
from pipelines.connectors.http import MalformedResponse

HITS_PER_PAGE = 100


@register
class HackerNews(Connector):
    kind = "hackernews"
    default_base_url = "https://hn.algolia.com/api/v1"

    def queries(self) -> list[str]:
        return self.brand_terms()

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        since, until = int(window.since.timestamp()), int(window.until.timestamp())
        for page in range(self.source.max_pages):
            body = self.http.get_json(
                f"{self.base_url}/search_by_date",
                {
                    "query": query,
                    "tags": self.source.tags,
                    "hitsPerPage": HITS_PER_PAGE,
                    "page": page,
                    "numericFilters": f"created_at_i>={since},created_at_i<{until}",
                },
            )
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                raise MalformedResponse(f"{self.source.name}: search_by_date answered without a 'hits' list")
            yield from body["hits"]
            if page + 1 >= int(body.get("nbPages") or 0) or not body["hits"]:
                return

    def fields(self, record: dict) -> dict:
        object_id = str(record["objectID"])
        title = record.get("title") or None
        body = html_to_text(record.get("comment_text") or record.get("story_text") or "")
        text = "\n\n".join(part for part in (title, body) if part) or None
        parent = record.get("parent_id")
        return {
            "native_id": object_id,
            "text": text,
            "created_at": record.get("created_at_i") or record.get("created_at"),
            "author": record.get("author"),
            "title": title or record.get("story_title"),
            "url": f"https://news.ycombinator.com/item?id={object_id}",
            "reply_to": str(parent) if parent not in (None, "") and not title else None,
            "likes": record.get("points"),
            "replies": record.get("num_comments"),
        }

"""Mastodon's REST API (https://docs.joinmastodon.org/methods/timelines/#tag and
https://docs.joinmastodon.org/methods/search/#v2): hashtag timelines and status search of one instance.

Every instance a test configures is served under the fake's URL (``base_url``). Statuses are Status
entities with snowflake-like ids (creation milliseconds << 16), served newest first; timelines page with
``max_id``/``since_id``/``min_id`` and a ``Link`` header, search with ``offset``. Search returns statuses
only to a request with a bearer token (as Mastodon does), and 401 for ``offset`` without one.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse

from tests.fake_apis import FakeApi, Reply, Request

KIND = "mastodon"
ENV: dict[str, str] = {}  # the token is optional: hashtag timelines are public
INSTANCE = "mastodon.social"
TAG = "korvo"
QUERY = f"{INSTANCE} tag:{TAG}"
REMOTE = "fosstodon.org"


def source(base_url: str) -> dict:
    return {"name": "mastodon", "kind": KIND, "base_url": base_url, "instances": [INSTANCE],
            "hashtags": [TAG], "search": False}  # fmt: skip


def snowflake(when: dt.datetime, seq: int = 0) -> str:
    return str((int(when.timestamp() * 1000) << 16) | (seq & 0xFFFF))


def account(i: int) -> dict:
    remote = i % 4 == 3
    username = f"user{i % 13}"
    host = REMOTE if remote else INSTANCE
    return {
        "id": str(109_000_000_000 + i % 13 + (1000 if remote else 0)),
        "username": username,
        "acct": f"{username}@{REMOTE}" if remote else username,
        "display_name": f"User {i % 13} :blobcat:",
        "locked": False,
        "bot": False,
        "created_at": "2022-11-08T00:00:00.000Z",
        "note": f'<p>Food lover &amp; commuter. Posts about <a href="https://{host}/tags/food">#food</a></p>',
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "followers_count": 10 * i,
        "following_count": 5 + i,
        "statuses_count": 100 + i,
        "last_status_at": "2024-05-01",
        "emojis": [],
        "fields": [],
    }


def status(i: int, when: dt.datetime, content: str | None = None, tags: list[str] | None = None) -> dict:
    author = account(i)
    host = _host(author["url"])
    local_id = snowflake(when, i)
    origin_id = local_id if host == INSTANCE else str(111_000_000_000_000_000 + i)
    tags = tags or [TAG]
    hashtag_html = " ".join(
        f'<a href="https://{INSTANCE}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
        for t in tags
    )
    text = (
        content
        if content is not None
        else f"{TAG.title()} was late again &amp; support didn&#39;t answer #{i}"
    )
    return {
        "id": local_id,
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://{host}/users/{author['username']}/statuses/{origin_id}",
        "url": f"https://{host}/@{author['username']}/{origin_id}",
        "replies_count": i % 5,
        "reblogs_count": i % 3,
        "favourites_count": i % 7,
        "edited_at": None,
        "content": f"<p>{text} {hashtag_html}</p>" if text else "",
        "reblog": None,
        "application": None,
        "account": author,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": t, "url": f"https://{INSTANCE}/tags/{t}"} for t in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def record(i: int, when: dt.datetime) -> dict:
    return status(i, when)


def bad_record(when: dt.datetime) -> dict:
    """A media-only status: tagged, but no text and no content warning."""
    item = status(9_999, when, content="")
    item["media_attachments"] = [{"id": "1", "type": "image", "url": "https://files.example/1.png",
                                  "description": None}]  # fmt: skip
    return item


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def _time(item: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))


def _tags(item: dict) -> set[str]:
    shown = item.get("reblog") or item
    return {t["name"].lower() for t in shown.get("tags") or []}


class Fake(FakeApi):
    page_size_cap = 40  # Mastodon's maximum ``limit``; 120 records need several pages

    def handle(self, request: Request) -> Reply:
        tag = re.fullmatch(r"/api/v1/timelines/tag/([^/]+)", request.path)
        if tag:
            return self.timeline(request, urllib.parse.unquote(tag.group(1)).lower())
        if request.path == "/api/v2/search":
            return self.search(request)
        return Reply.json({"error": "Record not found"}, 404)

    def _limit(self, request: Request) -> int:
        return max(1, min(int(request.arg("limit", "20")), self.page_size_cap))

    def timeline(self, request: Request, tag: str) -> Reply:
        wanted = {tag} | {t.lower() for t in request.query.get("any[]", [])}
        items = sorted((r for r in self.records if _tags(r) & wanted), key=lambda r: -int(r["id"]))
        if request.arg("max_id"):
            items = [r for r in items if int(r["id"]) < int(request.arg("max_id"))]
        if request.arg("since_id"):
            items = [r for r in items if int(r["id"]) > int(request.arg("since_id"))]
        limit = self._limit(request)
        if request.arg("min_id"):  # the statuses immediately newer than min_id
            newer = [r for r in items if int(r["id"]) > int(request.arg("min_id"))]
            page = newer[-limit:]
        else:
            page = items[:limit]
        reply = Reply.json(page)
        if page:
            base = f"https://{INSTANCE}{request.path}"
            reply.headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return reply

    def search(self, request: Request) -> Reply:
        authorised = (request.headers.get("Authorization") or "").startswith("Bearer ")
        offset = int(request.arg("offset", "0"))
        if not authorised and offset:
            return Reply.json(
                {"error": "Search queries pagination is not supported without authentication"}, 401
            )
        statuses: list[dict] = []
        if authorised and request.arg("type", "statuses") == "statuses":
            term = (request.arg("q") or "").lower()
            hits = [r for r in self.records
                    if term in html.unescape((r.get("reblog") or r)["content"]).lower()]  # fmt: skip
            hits.sort(key=lambda r: -int(r["id"]))
            statuses = hits[offset:offset + self._limit(request)]  # fmt: skip
        return Reply.json({"accounts": [], "statuses": statuses, "hashtags": []})

"""Reddit's OAuth API (https://www.reddit.com/dev/api): the client-credentials token endpoint, /search and
the subreddit listings /r/<sub>/new and /r/<sub>/comments, newest first with ``after`` cursors."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

from tests.fake_apis import FakeApi, Reply, Request, epoch

KIND = "reddit"
ENV = {"REDDIT_CLIENT_ID": "fake-client-id", "REDDIT_CLIENT_SECRET": "fake-client-secret"}
TERM = "Korvo"
QUERY = f"search:{TERM}"
TOKEN = "fake-bearer-token"
USER_AGENT = "test:listening:0.1 (by /u/listening_tests)"


def source(base_url: str) -> dict:
    return {"name": "reddit", "kind": KIND, "base_url": base_url, "queries": [TERM], "user_agent": USER_AGENT}


def record(i: int, when: dt.datetime, subreddit: str = "deliveryapps") -> dict:
    post_id = f"p{i:05d}"
    return {
        "kind": "t3",
        "data": {
            "id": post_id,
            "name": f"t3_{post_id}",
            "title": f"{TERM} delivery was late again &amp; support ignored me #{i}",
            "selftext": f"Ordered from {TERM} at noon, it came at 3 &lt;sigh&gt; #{i}" if i % 2 else "",
            "author": f"redditor_{i % 13}",
            "author_fullname": f"t2_u{i % 13}",
            "created_utc": float(epoch(when)),
            "created": float(epoch(when)),
            "permalink": f"/r/{subreddit}/comments/{post_id}/korvo_delivery_{i}/",
            "url": f"https://www.reddit.com/r/{subreddit}/comments/{post_id}/korvo_delivery_{i}/",
            "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}",
            "score": i,
            "upvote_ratio": 0.9,
            "num_comments": i % 7,
            "edited": False,
            "removed_by_category": None,
            "is_self": True,
            "over_18": False,
            "view_count": None,
        },
    }


def comment(i: int, when: dt.datetime, subreddit: str = "deliveryapps", body: str | None = None) -> dict:
    comment_id = f"c{i:05d}"
    return {
        "kind": "t1",
        "data": {
            "id": comment_id,
            "name": f"t1_{comment_id}",
            "body": body if body is not None else f"Same here, {TERM} never refunds &amp; never answers #{i}",
            "author": f"commenter_{i % 11}",
            "created_utc": float(epoch(when)),
            "permalink": f"/r/{subreddit}/comments/p00001/korvo_delivery_1/{comment_id}/",
            "link_id": "t3_p00001",
            "link_title": f"{TERM} delivery was late again",
            "link_permalink": f"https://www.reddit.com/r/{subreddit}/comments/p00001/korvo_delivery_1/",
            "parent_id": "t3_p00001" if i % 2 else f"t1_c{i - 1:05d}",
            "subreddit": subreddit,
            "score": 2,
            "edited": False,
        },
    }


def bad_record(when: dt.datetime) -> dict:
    """A post removed before we saw it: no title left, body ``[removed]`` (real posts keep their title)."""
    bad = record(9999, when, subreddit=TERM.lower())
    bad["data"].update(title="", selftext="[removed]", author="[deleted]", removed_by_category="moderator")
    return bad


class Fake(FakeApi):
    page_size_cap = 50  # Reddit returns up to 100; the fake pages at 50 to force paging

    def handle(self, request: Request) -> Reply:
        if request.path == "/api/v1/access_token":
            return self._token(request)
        if request.headers.get("Authorization") != f"bearer {TOKEN}":
            return Reply.json({"message": "Unauthorized", "error": 401}, 401)
        if request.path == "/search":
            term = (request.arg("q") or "").strip('"').lower()
            items = [r for r in self.records if r["kind"] == "t3" and term in " ".join(
                str(r["data"].get(k) or "") for k in ("title", "selftext", "subreddit")).lower()]  # fmt: skip
        elif request.path.startswith("/r/"):
            parts = request.path.strip("/").split("/")
            if len(parts) != 3 or parts[2] not in ("new", "comments"):
                return Reply.json({"message": "Not Found", "error": 404}, 404)
            kind = "t3" if parts[2] == "new" else "t1"
            items = [r for r in self.records if r["kind"] == kind and r["data"]["subreddit"].lower() == parts[1].lower()]  # fmt: skip
        else:
            return Reply.json({"message": "Not Found", "error": 404}, 404)
        items.sort(key=lambda r: -r["data"]["created_utc"])
        start = 0
        after = request.arg("after")
        if after:
            names = [r["data"]["name"] for r in items]
            start = names.index(after) + 1 if after in names else len(items)
        size = min(int(request.arg("limit", "25")), self.page_size_cap)
        page = items[start : start + size]
        more = start + size < len(items)
        return Reply.json({"kind": "Listing", "data": {
            "after": page[-1]["data"]["name"] if more and page else None, "before": None, "dist": len(page),
            "modhash": "", "geo_filter": "", "children": page}})  # fmt: skip

    def _token(self, request: Request) -> Reply:
        expected = base64.b64encode(
            f"{ENV['REDDIT_CLIENT_ID']}:{ENV['REDDIT_CLIENT_SECRET']}".encode()
        ).decode()
        form = urllib.parse.parse_qs(request.body.decode("utf-8"))
        if request.method != "POST" or request.headers.get("Authorization") != f"Basic {expected}":
            return Reply.json({"message": "Unauthorized", "error": 401}, 401)
        if form.get("grant_type") != ["client_credentials"]:
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        return Reply.json({"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

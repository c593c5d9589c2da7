"""Bluesky's XRPC API (https://docs.bsky.app/docs/api/): com.atproto.server.createSession and
app.bsky.feed.searchPosts (cursor paging, since/until on the post's sortAt), plus ``Jetstream``, a
WebSocket stand-in for the Jetstream firehose that replays events from the requested ``cursor``."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse

from tests.fake_apis import FakeApi, Reply, Request

KIND = "bluesky"
ENV = {"BLUESKY_HANDLE": "listening-test.bsky.social", "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}
QUERY = "Korvo"
TOKEN = "fake-access-jwt"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def source(base_url: str) -> dict:
    return {"name": "bsky", "kind": KIND, "base_url": base_url, "queries": [QUERY], "jetstream_url": None}


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def time_us(when: dt.datetime) -> int:
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def tid(when: dt.datetime, clock: int = 0) -> str:
    """A record key as Bluesky makes them: 53 bits of microseconds, 10 bits of clock id, base32-sortable."""
    value = (time_us(when) << 10) | (clock & 0x3FF)
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def did(i: int) -> str:
    return f"did:plc:fake{i % 23:020d}"


def record(i: int, when: dt.datetime, text: str | None = None) -> dict:
    author = did(i)
    uri = f"at://{author}/app.bsky.feed.post/{tid(when, i)}"
    post = {
        "$type": "app.bsky.feed.post",
        "text": text if text is not None else f"{QUERY} lost my parcel again, support is silent #{i}",
        "createdAt": iso(when),
        "langs": ["en"],
    }
    if i % 4 == 1:
        parent = f"at://{did(i + 1)}/app.bsky.feed.post/{tid(when - dt.timedelta(hours=1), i)}"
        post["reply"] = {
            "root": {"uri": parent, "cid": "bafyreiroot"},
            "parent": {"uri": parent, "cid": "bafyreip"},
        }
    return {
        "uri": uri,
        "cid": f"bafyreifake{i:08d}",
        "author": {
            "did": author,
            "handle": f"user{i % 23}.bsky.social",
            "displayName": f"User {i % 23}",
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{author}/bafkrei@jpeg",
            "labels": [],
            "createdAt": "2023-05-01T10:00:00.000Z",
        },
        "record": post,
        "replyCount": i % 5,
        "repostCount": i % 3,
        "likeCount": i,
        "quoteCount": 0,
        "indexedAt": iso(when),
        "labels": [],
    }


def bad_record(when: dt.datetime) -> dict:
    """An image-only post (no text) that search finds through its alt text."""
    item = record(9999, when, text="")
    item["record"]["embed"] = {
        "$type": "app.bsky.embed.images",
        "images": [
            {"alt": f"A {QUERY} van", "image": {"$type": "blob", "mimeType": "image/jpeg", "size": 1}}
        ],
    }
    return item


def _when(value: str | None, default: dt.datetime) -> dt.datetime:
    if not value:
        return default
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _sort_at(item: dict) -> dt.datetime:
    return min(_when(item["record"]["createdAt"], dt.datetime.max), _when(item["indexedAt"], dt.datetime.max))


def _searchable(item: dict) -> str:
    images = (item["record"].get("embed") or {}).get("images") or []
    return " ".join([item["record"].get("text") or "", *(image.get("alt") or "" for image in images)]).lower()


class Fake(FakeApi):
    page_size_cap = 50  # searchPosts allows up to 100; the fake pages at 50 to force paging
    sessions = 0

    def handle(self, request: Request) -> Reply:
        if request.path == "/xrpc/com.atproto.server.createSession":
            if request.method != "POST":
                return Reply.json({"error": "InvalidRequest", "message": "use POST"}, 400)
            body = json.loads(request.body or b"{}")
            if (
                body.get("identifier") != ENV["BLUESKY_HANDLE"]
                or body.get("password") != ENV["BLUESKY_APP_PASSWORD"]
            ):
                return Reply.json(
                    {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401
                )
            self.sessions += 1
            return Reply.json({"did": "did:plc:listeningtest", "handle": body["identifier"], "accessJwt": TOKEN,
                               "refreshJwt": "fake-refresh-jwt", "active": True})  # fmt: skip
        if request.path == "/xrpc/app.bsky.feed.searchPosts":
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return Reply.json(
                    {"error": "AuthenticationRequired", "message": "Authentication Required"}, 401
                )
            query = (request.arg("q") or "").lower()
            low = _when(request.arg("since"), dt.datetime.min.replace(tzinfo=dt.UTC))
            high = _when(request.arg("until"), dt.datetime.max.replace(tzinfo=dt.UTC))
            hits = [r for r in self.records if low <= _sort_at(r) < high and query in _searchable(r)]
            hits.sort(key=_sort_at, reverse=True)
            size = min(int(request.arg("limit", "25")), self.page_size_cap)
            offset = int(request.arg("cursor") or 0)
            page = hits[offset : offset + size]
            answer: dict = {"posts": page, "hitsTotal": len(hits)}
            if offset + size < len(hits):
                answer["cursor"] = str(offset + size)
            return Reply.json(answer)
        return Reply.json({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)


# -- Jetstream ----------------------------------------------------------------------------------------------
def event(i: int, when: dt.datetime, text: str | None = None, operation: str = "create", author: str | None = None,
          rkey: str | None = None, created: dt.datetime | None = None) -> dict:  # fmt: skip
    """One Jetstream commit event for an app.bsky.feed.post record."""
    commit: dict = {"rev": tid(when, 1), "operation": operation, "collection": "app.bsky.feed.post",
                    "rkey": rkey or tid(created or when, i)}  # fmt: skip
    if operation != "delete":
        commit["record"] = {"$type": "app.bsky.feed.post", "createdAt": iso(created or when), "langs": ["en"],
                            "text": text if text is not None else f"random chatter #{i}"}  # fmt: skip
        commit["cid"] = f"bafyreiev{i:08d}"
    return {"did": author or did(i), "time_us": time_us(when), "kind": "commit", "commit": commit}


class Jetstream:
    """A WebSocket server replaying ``events`` (sorted by time_us) from the ``cursor`` a client asks for.
    ``close_after``: events sent per connection before the server closes it (None: all, then idle).
    ``refuse_after``: connections accepted before later ones are refused (the server went away)."""

    def __init__(self, events: list[dict], close_after: int | None = None, refuse_after: int | None = None):
        self.events = sorted(events, key=lambda e: e["time_us"])
        self.close_after = close_after
        self.refuse_after = refuse_after
        self.requests: list[dict[str, list[str]]] = []
        self.sent = 0
        self._server = None

    def _serve(self, connection) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(connection.request.path).query)
        self.requests.append(query)
        if self.refuse_after is not None and len(self.requests) > self.refuse_after:
            connection.close(code=1011, reason="going away")
            return
        cursor = int(query.get("cursor", ["0"])[0])
        sent = 0
        for item in self.events:
            if item["time_us"] < cursor:
                continue
            if self.close_after is not None and sent >= self.close_after:
                connection.close(code=1001, reason="going away")
                return
            connection.send(json.dumps(item))
            sent += 1
            self.sent += 1
        try:
            connection.recv()  # live tail: nothing more, wait until the client leaves
        except Exception:  # noqa: BLE001 - the client closed
            return

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe"

    def start(self) -> Jetstream:
        from websockets.sync.server import serve

        self._server = serve(self._serve, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

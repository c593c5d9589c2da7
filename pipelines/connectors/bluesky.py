"""Bluesky: post search through the AppView (authenticated with an app password), plus a bounded read of
the Jetstream firehose.

Session (once per run, cached on the connector): ``POST {base}/xrpc/com.atproto.server.createSession``
with the JSON body ``{"identifier": <handle>, "password": <app password>}`` answers ``{"did", "handle",
"accessJwt", "refreshJwt", ...}``; later calls send ``Authorization: Bearer <accessJwt>`` (valid about two
hours, longer than a run). Use an app password (Settings > Privacy and security > App passwords), never the
account password. The handle and password come from ``$BLUESKY_HANDLE`` / ``$BLUESKY_APP_PASSWORD`` (the
names are configurable) or the Airflow Connection ``conn_id`` (login / password).

Search (one query per brand term): ``GET {base}/xrpc/app.bsky.feed.searchPosts?q=<term>&sort=latest
&limit=100&since=<iso>&until=<iso>&cursor=<c>``. ``since`` is inclusive and ``until`` exclusive; both
compare the post's ``sortAt`` (the earlier of ``createdAt`` and ``indexedAt``). Response: ``{"posts":
[postView], "cursor"?, "hitsTotal"?}`` with postView ``{"uri": "at://<did>/app.bsky.feed.post/<rkey>",
"cid", "author": {"did", "handle", "displayName", "avatar", "createdAt", ...}, "record": {"$type":
"app.bsky.feed.post", "text", "createdAt", "langs", "reply": {"root": {uri, cid}, "parent": {uri, cid}},
"embed"}, "indexedAt", "likeCount", "repostCount", "replyCount", "quoteCount", "labels"}``. Pages follow
``cursor`` until it is absent, a page is empty, or ``max_pages`` (so at most ``100 * max_pages`` posts per
term and window; the search service also stops paging deep result sets on its own).

Limits: the PDS allows ``createSession`` 30 times per 5 minutes and 300 times a day per account (one per
run here), and about 3,000 requests per 5 minutes per IP for other calls; ``rate_per_minute`` paces them.
Posts whose record has no text (image-only posts) are quarantined.

Jetstream (when ``jetstream_url`` is set: the extra query ``"jetstream"``, no credentials needed beyond the
run's): a WebSocket ``{jetstream_url}?wantedCollections=app.bsky.feed.post&cursor=<time_us>`` replays the
network's post commits from ``cursor`` (microseconds since the epoch; here the window's ``since``) and then
tails live. Each text frame is one event: ``{"did", "time_us", "kind": "commit", "commit": {"rev",
"operation": "create"|"update"|"delete", "collection", "rkey", "record"?: {"text", "createdAt", "langs",
"reply"}, "cid"?}}`` (``kind`` "identity"/"account" events are skipped). The read stops at the first event
at or after the window's ``until``, after ``jetstream_max_events`` events (all events count, matching or
not) or after ``jetstream_max_seconds``; an unexpected close reconnects from the last ``time_us`` read (at
most ``max_retries`` times) and what was read is kept either way. Kept events:

* "create"/"update" whose ``record.text`` contains a brand term (case-insensitive), and updates of posts
  kept before (an edit that removes the mention); an update sets ``edited_at`` to the event time, so it
  replaces the earlier version of the post;
* "delete" of a post seen earlier in the same read or already among this source's posts. A delete event
  has no text: ``fields`` takes the text and creation time of the post it deletes (from the same batch or
  the posts layer) and marks it ``is_deleted`` (``edited_at`` = deletion time, so it wins the merge).
  Deletions of posts never ingested are dropped while reading.

Know that Jetstream is a sample, not a backlog: the public instances keep a limited replay buffer (about
a day), the whole network's posts arrive at hundreds per second, and when a bound stops the read early the
rest of the window is not read (the high-water mark still moves to ``until``; a warning says where the read
stopped). Search is the complete path; Jetstream adds low-latency posts, edits and deletions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.parse
from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, parse_time, register
from pipelines.connectors.http import USER_AGENT, MalformedResponse, SourceError, _safe
from pipelines.normalise import FieldError

log = logging.getLogger(__name__)

SEARCH_LIMIT = 100  # searchPosts allows 1..100
JETSTREAM_QUERY = "jetstream"
POST_COLLECTION = "app.bsky.feed.post"


def _time_us(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _from_time_us(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value // 1_000_000, dt.UTC).replace(microsecond=value % 1_000_000)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def post_url(author: str, uri: str) -> str | None:
    """The bsky.app address of a post (profiles accept a handle or a DID)."""
    rkey = uri.rsplit("/", 1)[-1] if uri.startswith("at://") else ""
    return f"https://bsky.app/profile/{author}/post/{rkey}" if author and rkey else None


@register
class Bluesky(Connector):
    kind = "bluesky"
    default_base_url = "https://bsky.social"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._token: str | None = None
        self._seen: dict[str, tuple[str, str]] = {}  # uri -> (text, createdAt) mapped by fields()

    # -- credentials -----------------------------------------------------------------------------------
    def _handle(self) -> str:
        return self.require(self.source.handle_env, "Bluesky handle", field="login")

    def _password(self) -> str:
        return self.require(self.source.app_password_env, "Bluesky app password", field="password")

    def check(self) -> None:
        self._handle()
        self._password()

    def session_token(self) -> str:
        """The access token of this run's session (created once)."""
        if self._token is None:
            payload = json.dumps({"identifier": self._handle(), "password": self._password()}).encode()
            body = self.http.request(
                f"{self.base_url}/xrpc/com.atproto.server.createSession",
                headers={"Content-Type": "application/json"},
                data=payload,
                method="POST",
            ).json()
            if not isinstance(body, dict) or not isinstance(body.get("accessJwt"), str):
                raise MalformedResponse(f"{self.source.name}: createSession answered without an accessJwt")
            self._token = body["accessJwt"]
        return self._token

    # -- queries ---------------------------------------------------------------------------------------
    def queries(self) -> list[str]:
        terms = self.brand_terms()
        return [*terms, JETSTREAM_QUERY] if self.source.jetstream_url else terms

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        if query == JETSTREAM_QUERY and self.source.jetstream_url:
            return self._jetstream(window)
        return self._search(query, window)

    def _search(self, query: str, window: Window) -> Iterator[dict]:
        cursor: str | None = None
        for _ in range(self.source.max_pages):
            params = {"q": query, "sort": "latest", "limit": SEARCH_LIMIT,
                      "since": _iso(window.since), "until": _iso(window.until)}  # fmt: skip
            if cursor:
                params["cursor"] = cursor
            body = self.http.get_json(
                f"{self.base_url}/xrpc/app.bsky.feed.searchPosts",
                params,
                {"Authorization": f"Bearer {self.session_token()}"},
            )
            if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
                raise MalformedResponse(f"{self.source.name}: searchPosts answered without a 'posts' list")
            for post in body["posts"]:
                moment = self._sort_at(post)
                if moment is None or moment in window:
                    yield post
            cursor = body.get("cursor")
            if not cursor or not body["posts"]:
                return

    @staticmethod
    def _sort_at(post: object) -> dt.datetime | None:
        """The time searchPosts filters on: the earlier of createdAt and indexedAt (None when unknown)."""
        if not isinstance(post, dict):
            return None
        record = post.get("record") if isinstance(post.get("record"), dict) else {}
        times = [t for t in (parse_time(record.get("createdAt")), parse_time(post.get("indexedAt"))) if t]
        return min(times) if times else None

    # -- Jetstream -------------------------------------------------------------------------------------
    def _jetstream_address(self, cursor: int) -> str:
        url = self.source.jetstream_url or ""
        params = urllib.parse.urlencode({"wantedCollections": POST_COLLECTION, "cursor": cursor})
        return f"{url}{'&' if '?' in url else '?'}{params}"

    def _known_uris(self) -> set[str]:
        """at:// ids of this source's posts already in the posts layer (deletions of these are kept)."""
        storage = self.project.storage
        if not storage.glob(f"posts/date=*/source={self.source.name}/*.parquet"):
            return set()
        import duckdb

        glob = storage.parquet_glob("posts")
        rows = duckdb.connect().execute(
            f"SELECT DISTINCT native_id FROM read_parquet('{glob}', hive_partitioning = true) "
            "WHERE source = ? AND native_id LIKE 'at://%'",
            [self.source.name],
        ).fetchall()  # fmt: skip
        return {row[0] for row in rows}

    def _jetstream(self, window: Window) -> Iterator[dict]:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        name, source = self.source.name, self.source
        terms = [t.lower() for t in self.brand_terms() if t]
        since_us, until_us = _time_us(window.since), _time_us(window.until)
        deadline = time.monotonic() + source.jetstream_max_seconds
        known: set[str] | None = None  # this source's stored at:// ids, loaded on the first delete event
        matched: set[str] = set()  # posts kept earlier in this read (their deletions are kept too)
        last_us, events, kept, bad_frames, failures = since_us - 1, 0, 0, 0, 0
        stop = ""
        while not stop:
            address = self._jetstream_address(max(last_us, since_us))
            try:
                remaining = max(0.1, deadline - time.monotonic())
                connection = connect(address, open_timeout=min(source.timeout_s, remaining),
                                     close_timeout=2, max_size=2**22, user_agent_header=USER_AGENT)  # fmt: skip
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                failures += 1
                reason = f"{type(exc).__name__}: {exc}"
                if events:  # keep what was read; the rest of the window is not
                    stop = f"a failed reconnect ({reason})"
                    break
                if failures > source.max_retries:
                    raise SourceError(
                        f"{name}: Jetstream {_safe(address)} still failing after {source.max_retries} "
                        f"retries ({reason})"
                    ) from None
                self.http.sleep(self.http.rng.uniform(0, self.http.backoff_s * 2 ** (failures - 1)))
                continue
            with connection:
                while not stop:
                    remaining = deadline - time.monotonic()
                    try:
                        if remaining <= 0:
                            raise TimeoutError
                        frame = connection.recv(timeout=remaining)
                    except TimeoutError:
                        stop = "jetstream_max_seconds"
                        break
                    except ConnectionClosed as exc:
                        failures += 1
                        if failures > source.max_retries:
                            stop = f"the server closing the connection ({exc})"
                        else:
                            log.warning("%s: Jetstream closed (%s); resuming at %d", name, exc, last_us)
                        break
                    try:
                        event = json.loads(frame)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        bad_frames += 1
                        continue
                    if not isinstance(event, dict) or not isinstance(event.get("time_us"), int):
                        bad_frames += 1
                        continue
                    if event["time_us"] <= last_us:  # replayed after a reconnect, or before the window
                        continue
                    events += 1
                    if event["time_us"] >= until_us:
                        stop = "until"
                        break
                    last_us = event["time_us"]
                    if self._wanted(event, terms):
                        matched.add(self._uri(event))
                        kept += 1
                        yield event
                    elif self._is_delete(event) or self._commit(event).get("operation") == "update":
                        # a deletion, or an edit that no longer names a brand, of a post we have
                        uri = self._uri(event)
                        if known is None and uri not in matched:
                            known = self._known_uris()
                        if uri in matched or uri in (known or ()):
                            kept += 1
                            yield event
                    if events >= source.jetstream_max_events:
                        stop = "jetstream_max_events"
        if bad_frames and not events:
            raise MalformedResponse(
                f"{name}: Jetstream {_safe(self.source.jetstream_url or '')} sent {bad_frames} frame(s) that "
                "are not JSON events"
            )
        if stop != "until":
            log.warning("%s: Jetstream read stopped by %s at %s, before %s: the rest of the window is not read "
                        "(search covers it)", name, stop, _from_time_us(max(last_us, since_us)).isoformat(),
                        window.until.isoformat())  # fmt: skip
        log.info("%s: Jetstream read %d events, kept %d (%d bad frames)", name, events, kept, bad_frames)

    @staticmethod
    def _commit(event: dict) -> dict:
        commit = event.get("commit") if event.get("kind") == "commit" else None
        return commit if isinstance(commit, dict) and commit.get("collection") == POST_COLLECTION else {}

    @classmethod
    def _is_post_write(cls, event: dict) -> bool:
        return cls._commit(event).get("operation") in ("create", "update")

    @classmethod
    def _is_delete(cls, event: dict) -> bool:
        return cls._commit(event).get("operation") == "delete"

    @classmethod
    def _wanted(cls, event: dict, terms: list[str]) -> bool:
        if not cls._is_post_write(event):
            return False
        record = cls._commit(event).get("record")
        text = record.get("text") if isinstance(record, dict) else None
        return isinstance(text, str) and any(term in text.lower() for term in terms)

    @classmethod
    def _uri(cls, event: dict) -> str:
        return f"at://{event.get('did')}/{POST_COLLECTION}/{cls._commit(event).get('rkey')}"

    # -- fields ----------------------------------------------------------------------------------------
    def fields(self, record: dict) -> dict:
        if "commit" in record:
            return self._event_fields(record)
        uri = record["uri"]
        post = record["record"]
        author = record.get("author") or {}
        handle = author.get("handle") or author.get("did")
        reply = post.get("reply") or {}
        langs = post.get("langs") or []
        return {
            "native_id": uri,
            "text": post.get("text"),
            "created_at": post.get("createdAt") or record.get("indexedAt"),
            "author": handle,
            "author_name": author.get("displayName") or None,
            "author_created_at": author.get("createdAt"),
            "url": post_url(handle, uri),
            "reply_to": (reply.get("parent") or {}).get("uri"),
            "language": langs[0] if langs else None,
            "likes": record.get("likeCount"),
            "reposts": record.get("repostCount"),
            "replies": record.get("replyCount"),
        }

    def _event_fields(self, event: dict) -> dict:
        commit = event["commit"]
        did, operation = event["did"], commit["operation"]
        uri = f"at://{did}/{commit.get('collection') or POST_COLLECTION}/{commit['rkey']}"
        changed_at = _iso(_from_time_us(int(event["time_us"])))
        base = {"native_id": uri, "author": did, "url": post_url(did, uri)}
        if operation == "delete":
            text, created_at = self._seen.get(uri) or self._stored(uri)
            return {
                **base,
                "text": text,
                "created_at": created_at,
                "is_deleted": True,
                "edited_at": changed_at,
            }
        post = commit["record"]
        reply = post.get("reply") or {}
        langs = post.get("langs") or []
        if isinstance(post.get("text"), str) and post.get("createdAt"):
            self._seen[uri] = (post["text"], post["createdAt"])
        return {
            **base,
            "text": post.get("text"),
            "created_at": post.get("createdAt"),
            "reply_to": (reply.get("parent") or {}).get("uri"),
            "language": langs[0] if langs else None,
            "edited_at": changed_at if operation == "update" else None,
            "is_deleted": False,
        }

    def _stored(self, uri: str) -> tuple[str, str]:
        """Text and creation time of an ingested post (a Jetstream deletion carries neither)."""
        storage = self.project.storage
        row = None
        if storage.glob(f"posts/date=*/source={self.source.name}/*.parquet"):
            import duckdb

            glob = storage.parquet_glob("posts")
            row = duckdb.connect().execute(
                f"SELECT text, created_at FROM read_parquet('{glob}', hive_partitioning = true) "
                "WHERE source = ? AND native_id = ? LIMIT 1",
                [self.source.name, uri],
            ).fetchone()  # fmt: skip
        if row is None:
            raise FieldError(f"deletion of {uri}, a post never ingested (Jetstream deletions carry no text)")
        created = row[1] if isinstance(row[1], dt.datetime) else dt.datetime.fromisoformat(str(row[1]))
        return row[0], _iso(created if created.tzinfo else created.replace(tzinfo=dt.UTC))

"""YouTube comments through the Data API v3 (an API key, no OAuth).

Request: ``GET https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies&videoId=<id>
&maxResults=100&order=time&textFormat=plainText&pageToken=<token>&key=<key>`` for a query ``video:<id>``;
a query ``channel:<id>`` sends ``allThreadsRelatedToChannelId=<id>`` instead of ``videoId`` (comments on
all the channel's videos). One query per configured video and channel; the brands' search terms are not
used (``search.list`` costs 100 quota units a call).

Response: ``{"kind": "youtube#commentThreadListResponse", "nextPageToken", "pageInfo", "items": [{"kind":
"youtube#commentThread", "id", "snippet": {"channelId", "videoId", "topLevelComment": {"kind":
"youtube#comment", "id", "snippet": {"textDisplay", "textOriginal", "authorDisplayName",
"authorChannelId": {"value"}, "likeCount", "publishedAt", "updatedAt", ...}}, "totalReplyCount",
"canReply", "isPublic"}, "replies": {"comments": [<youtube#comment with snippet.parentId>, ...]}}]}``.
``order=time`` lists threads newest first: paging stops at a page reaching back past ``window.since``, at
a page without ``nextPageToken`` or at ``max_pages``.

Records: a thread whose top-level comment was published inside the window is yielded as received; each
reply inside ``replies.comments`` published inside the window is yielded as its own record (the
``youtube#comment`` resource as received, ``reply_to`` = its ``parentId``, the thread id), even when its
thread is older than the window. Limits: ``replies.comments`` holds only some of a thread's replies (the
API returns up to 5; ``comments.list?parentId=`` would give all, one more quota unit a thread, not done
here), and a new reply to a thread older than the pages read is not seen.

Quota: every commentThreads call costs 1 unit of the project's 10,000 units a day (the default; Google
Cloud console -> YouTube Data API v3 -> quotas); a run costs at most ``max_pages`` units per query. A
spent quota answers 403 ``quotaExceeded``; a video whose comments are disabled answers 403
``commentsDisabled``: such a video is skipped with a warning (the other queries go on), while a spent
quota or a bad key fails the run. The key travels in the query string: the HTTP client never logs query strings, and
every error raised here is scrubbed of the key as well.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, html_to_text, parse_time, register
from pipelines.connectors.http import MalformedResponse, SourceError

PAGE_SIZE = 100

log = logging.getLogger(__name__)


@register
class YouTube(Connector):
    kind = "youtube"
    default_base_url = "https://www.googleapis.com/youtube/v3"

    def queries(self) -> list[str]:
        return [f"video:{video}" for video in self.source.videos] + [
            f"channel:{channel}" for channel in self.source.channels
        ]

    def check(self) -> None:
        self.require(self.source.api_key_env, "YouTube Data API key")

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        kind, _, target = query.partition(":")
        if kind not in ("video", "channel") or not target:
            raise ValueError(f"{self.source.name}: unknown YouTube query {query!r}")
        key = self.require(self.source.api_key_env, "YouTube Data API key")
        params = {
            "part": "snippet,replies",
            ("videoId" if kind == "video" else "allThreadsRelatedToChannelId"): target,
            "maxResults": PAGE_SIZE,
            "order": "time",
            "textFormat": "plainText",
        }
        token: str | None = None
        for _ in range(self.source.max_pages):
            page = {**params, **({"pageToken": token} if token else {}), "key": key}
            try:
                body = self.http.get_json(f"{self.base_url}/commentThreads", page)
            except SourceError as exc:  # the client strips query strings; make sure, whatever the message
                if exc.status == 403 and "commentsDisabled" in exc.detail:
                    # One video with comments turned off is not a broken key: skip it, keep the others.
                    log.warning("%s: comments are disabled on %s; skipped", self.source.name, query)
                    return
                if key in str(exc):
                    raise type(exc)(str(exc).replace(key, "<api key>"), exc.status) from None
                raise
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise MalformedResponse(
                    f"{self.source.name}: commentThreads answered without an 'items' list"
                )
            reached_since = False
            for thread in body["items"]:
                published = _moment(_top(thread))
                if published is None:
                    yield thread  # unreadable: landed and quarantined with the reason
                    continue
                if published in window:
                    yield thread
                elif published < window.since:
                    reached_since = True
                replies = thread.get("replies")
                for reply in replies.get("comments") or [] if isinstance(replies, dict) else []:
                    moment = _moment(reply)
                    if moment is not None and moment in window:
                        yield reply
            token = body.get("nextPageToken")
            if reached_since or not token or not body["items"]:
                return

    def fields(self, record: dict) -> dict:
        thread = record.get("kind") == "youtube#commentThread" or "topLevelComment" in (
            record.get("snippet") or {}
        )
        comment = record["snippet"]["topLevelComment"] if thread else record
        snippet = comment["snippet"]
        video = snippet.get("videoId") or (record["snippet"].get("videoId") if thread else None)
        text = snippet.get("textOriginal") or html_to_text(snippet.get("textDisplay")) or None
        published, updated = snippet["publishedAt"], snippet.get("updatedAt")
        channel = snippet.get("authorChannelId")
        author = channel.get("value") if isinstance(channel, dict) else None
        return {
            "native_id": comment["id"],
            "text": text.strip() if isinstance(text, str) else text,
            "created_at": published,
            "edited_at": updated if updated and updated != published else None,
            "author": author or snippet.get("authorDisplayName"),
            "author_name": snippet.get("authorDisplayName"),
            "url": f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None,
            "reply_to": None if thread else snippet.get("parentId"),
            "likes": snippet.get("likeCount"),
            "replies": record["snippet"].get("totalReplyCount") if thread else None,
        }


def _top(thread: object) -> object:
    if not isinstance(thread, dict) or not isinstance(thread.get("snippet"), dict):
        return None
    return thread["snippet"].get("topLevelComment")


def _moment(comment: object) -> dt.datetime | None:
    """``publishedAt`` (the API answers ``2024-05-01T12:00:00Z``) as a UTC datetime; None if unreadable."""
    if not isinstance(comment, dict) or not isinstance(comment.get("snippet"), dict):
        return None
    return parse_time(comment["snippet"].get("publishedAt"))

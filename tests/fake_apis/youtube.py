"""YouTube Data API v3 commentThreads.list (https://developers.google.com/youtube/v3/docs/commentThreads/list):
threads of a video or of a channel's videos, newest first with ``order=time``, ``pageToken`` paging, the
API key in the query string."""

from __future__ import annotations

import base64
import datetime as dt

from tests.fake_apis import FakeApi, Reply, Request

KIND = "youtube"
KEY = "AIzaFAKE-test-key-0123456789"
ENV = {"YOUTUBE_API_KEY": KEY}
VIDEO = "dQw4w9WgXcQ"
CHANNEL = "UCkorvoOfficial000000000"
QUERY = f"video:{VIDEO}"


def source(base_url: str) -> dict:
    return {"name": "youtube", "kind": KIND, "base_url": base_url, "videos": [VIDEO]}


def stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def comment(
    comment_id: str,
    when: dt.datetime,
    text: str,
    video: str = VIDEO,
    parent: str | None = None,
    updated: dt.datetime | None = None,
    author: int = 0,
) -> dict:
    snippet = {
        "channelId": CHANNEL,
        "videoId": video,
        "textDisplay": text,
        "textOriginal": text,
        "authorDisplayName": f"@viewer{author}",
        "authorProfileImageUrl": "https://yt3.ggpht.com/fake",
        "authorChannelUrl": f"http://www.youtube.com/@viewer{author}",
        "authorChannelId": {"value": f"UCviewer{author:016d}"},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": author,
        "publishedAt": stamp(when),
        "updatedAt": stamp(updated or when),
    }
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": f"e{comment_id}", "id": comment_id, "snippet": snippet}


def thread(
    thread_id: str, when: dt.datetime, text: str, video: str = VIDEO, replies: list[dict] | None = None, **kw
) -> dict:
    item = {
        "kind": "youtube#commentThread",
        "etag": f"t{thread_id}",
        "id": thread_id,
        "snippet": {
            "channelId": CHANNEL,
            "videoId": video,
            "topLevelComment": comment(thread_id, when, text, video=video, **kw),
            "canReply": True,
            "totalReplyCount": len(replies or []),
            "isPublic": True,
        },
    }
    if replies:  # the API leaves "replies" out of a thread without replies
        item["replies"] = {"comments": replies}
    return item


def record(i: int, when: dt.datetime) -> dict:
    return thread(
        f"Ugz{i:06d}AaBbCc", when, f"Korvo's ad again & again... 4 minutes of it #{i}", author=i % 9
    )


def bad_record(when: dt.datetime) -> dict:
    bad = thread("UgzBADBADBAD", when, "")
    bad["snippet"]["topLevelComment"]["snippet"].update(textDisplay="", textOriginal="")
    return bad


def _error(status: int, reason: str, message: str) -> Reply:
    return Reply.json({"error": {"code": status, "message": message, "errors": [
        {"message": message, "domain": "global", "reason": reason}]}}, status)  # fmt: skip


class Fake(FakeApi):
    page_size_cap = 50  # the API returns up to 100; the fake pages at 50 to force paging

    def handle(self, request: Request) -> Reply:
        if request.path != "/commentThreads":
            return _error(404, "notFound", "Not Found")
        if not request.arg("key"):
            return _error(403, "forbidden", "The request is missing a valid API key.")
        if request.arg("key") != KEY:
            return _error(400, "badRequest", "API key not valid. Please pass a valid API key.")
        if request.arg("part") != "snippet,replies" or request.arg("order") != "time":
            return _error(400, "invalidParameter", "unexpected part/order")
        video, channel = request.arg("videoId"), request.arg("allThreadsRelatedToChannelId")
        if bool(video) == bool(channel):
            return _error(400, "incompatibleParameters", "videoId or allThreadsRelatedToChannelId")
        if video:
            items = [r for r in self.records if r["snippet"]["videoId"] == video]
        else:
            items = [r for r in self.records if r["snippet"]["channelId"] == channel]
        items.sort(key=lambda r: r["snippet"]["topLevelComment"]["snippet"]["publishedAt"], reverse=True)
        token = request.arg("pageToken")
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        size = min(int(request.arg("maxResults", "20")), self.page_size_cap)
        page = items[start : start + size]
        body = {
            "kind": "youtube#commentThreadListResponse",
            "etag": "fake",
            "pageInfo": {"totalResults": len(page), "resultsPerPage": size},
            "items": page,
        }
        if start + size < len(items):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Reply.json(body)

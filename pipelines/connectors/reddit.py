"""Reddit through the official OAuth API (application-only token, plain HTTP).

Token: ``POST https://www.reddit.com/api/v1/access_token`` with HTTP basic auth ``client_id:client_secret``
and the form body ``grant_type=client_credentials`` -> ``{"access_token", "token_type": "bearer",
"expires_in": 86400, "scope": "*"}``. The token is requested lazily (a rerun of an already landed window
makes no request at all), once per run, and again only when it is about to expire.

Requests (``Authorization: bearer <token>`` and the configured ``User-Agent`` on every call):

* query ``search:<term>``: ``GET https://oauth.reddit.com/search?q=<term>&sort=new&type=link&limit=100
  &after=<fullname>&raw_json=1`` -- posts (``t3``) mentioning the term, across Reddit. The official API
  searches posts only, not comments. A term with spaces is sent quoted (a phrase).
* query ``r/<sub>``: ``GET https://oauth.reddit.com/r/<sub>/new?limit=100&after=<fullname>&raw_json=1`` --
  every new post of the subreddit. A configured subreddit is brand-specific by choice (a brand's own
  subreddit, its category's), so its listing is NOT filtered to brand terms: list only subreddits whose
  whole traffic you want.
* query ``r/<sub>/comments``: ``GET https://oauth.reddit.com/r/<sub>/comments?limit=100&after=...
  &raw_json=1`` -- every new comment (``t1``) of the subreddit, same rule.

Response (a Listing): ``{"kind": "Listing", "data": {"after": "t3_xyz" | null, "before", "dist",
"children": [{"kind": "t3" | "t1", "data": {"id", "name", "title", "selftext", "body", "author",
"created_utc", "permalink", "subreddit", "score", "num_comments", "parent_id", "link_title", "edited"
(false or epoch seconds), "removed_by_category", ...}}]}}``. Newest first; ``after`` is the fullname of
the last child, the cursor of the next page. Paging stops at a page reaching back past ``window.since``,
at ``after: null`` or at ``max_pages``. Each child is yielded as received (``{"kind", "data"}``) when
its ``created_utc`` is inside the window. ``raw_json=1`` turns off Reddit's legacy escaping of ``&``,
``<``, ``>``; ``fields`` unescapes HTML entities anyway (older clients' raw batches, titles).

Deleted and removed items: ``author == "[deleted]"``, a body/selftext of ``[deleted]``/``[removed]`` or a
``removed_by_category`` mark them ``is_deleted``. Their body is gone: a deleted post keeps its title as
text; a deleted comment (no title) has no usable text and is quarantined.

Limits a user must know: an app (``script`` or ``web`` type, https://www.reddit.com/prefs/apps) gives the
client id and secret; Reddit's Data API terms allow free non-commercial use at 100 requests a minute per
client id (averaged over 10 minutes; ``X-Ratelimit-*`` headers), commercial use needs an agreement with
Reddit. Reddit asks for a descriptive ``User-Agent`` (``<platform>:<app id>:<version> (by /u/<name>)``)
and throttles generic ones. Listings reach back at most about 1,000 items, search results often fewer.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import time
import urllib.parse
from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, register
from pipelines.connectors.http import MalformedResponse

PAGE_SIZE = 100
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
GONE = ("[deleted]", "[removed]")


@register
class Reddit(Connector):
    kind = "reddit"
    default_base_url = "https://oauth.reddit.com"

    _token: str | None = None
    _token_expires: float = 0.0

    # -- queries and credentials --------------------------------------------------------------------------
    def queries(self) -> list[str]:
        subs = [sub.strip().removeprefix("/").removeprefix("r/").strip("/") for sub in self.source.subreddits]
        return [f"search:{term}" for term in self.brand_terms()] + [
            query for sub in subs if sub for query in (f"r/{sub}", f"r/{sub}/comments")
        ]

    def check(self) -> None:
        self.require(self.source.client_id_env, "Reddit client id", field="login")
        self.require(self.source.client_secret_env, "Reddit client secret")

    def _token_url(self) -> str:
        # A configured base_url (a mirror, the tests' local server) serves the token endpoint too.
        return f"{self.base_url}/api/v1/access_token" if self.source.base_url else TOKEN_URL

    def _headers(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token_expires:
            client_id = self.require(self.source.client_id_env, "Reddit client id", field="login")
            secret = self.require(self.source.client_secret_env, "Reddit client secret")
            basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
            body = self.http.request(
                self._token_url(),
                headers={
                    "Authorization": f"Basic {basic}",
                    "User-Agent": self.source.user_agent,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode("ascii"),
                method="POST",
            ).json()
            if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                error = body.get("error") if isinstance(body, dict) else None
                raise MalformedResponse(
                    f"{self.source.name}: the token endpoint answered without an access_token"
                    + (f" (error: {str(error)[:80]})" if error else "")
                )
            self._token = body["access_token"]
            expires = body.get("expires_in")
            lifetime = float(expires) if isinstance(expires, int | float) else 3600.0
            self._token_expires = time.monotonic() + max(lifetime - 60, 30)
        return {"Authorization": f"bearer {self._token}", "User-Agent": self.source.user_agent}

    # -- fetching -----------------------------------------------------------------------------------------
    def _request(self, query: str) -> tuple[str, dict]:
        if query.startswith("search:"):
            term = query.removeprefix("search:").strip()
            if any(c.isspace() for c in term) and not term.startswith('"'):
                term = f'"{term}"'
            return "/search", {"q": term, "sort": "new", "type": "link"}
        if query.startswith("r/"):
            sub, _, what = query.removeprefix("r/").partition("/")
            listing = "comments" if what == "comments" else "new"
            return f"/r/{urllib.parse.quote(sub)}/{listing}", {}
        raise ValueError(f"{self.source.name}: unknown Reddit query {query!r}")

    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        path, params = self._request(query)
        since, until = window.since.timestamp(), window.until.timestamp()
        after: str | None = None
        for _ in range(self.source.max_pages):
            page = {**params, "limit": PAGE_SIZE, "raw_json": 1, **({"after": after} if after else {})}
            body = self.http.get_json(f"{self.base_url}{path}", page, self._headers())
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("children"), list):
                raise MalformedResponse(f"{self.source.name}: {path} answered without a Listing of children")
            reached_since = False
            for child in data["children"]:
                created = _created(child)
                if created is None:
                    yield child  # unreadable: landed and quarantined with the reason, never dropped silently
                elif since <= created < until:
                    yield child
                elif created < since:
                    reached_since = True
            after = data.get("after")
            if reached_since or not after or not data["children"]:
                return

    # -- mapping ------------------------------------------------------------------------------------------
    def fields(self, record: dict) -> dict:
        data = record["data"]
        comment = record.get("kind") == "t1" or ("body" in data and "title" not in data)
        author = data.get("author")
        body = _text(data.get("body") if comment else data.get("selftext"))
        title = None if comment else _text(data.get("title"))
        deleted = bool(author == "[deleted]" or body in GONE or data.get("removed_by_category"))
        if body in GONE:
            body = None
        text = "\n\n".join(part for part in (title, body) if part) or None
        permalink = data.get("permalink")
        edited = data.get("edited")
        return {
            "native_id": data.get("name") or f"{record.get('kind', 't3')}_{data['id']}",
            "text": text,
            "created_at": data["created_utc"],
            "author": None if author in (None, "[deleted]") else author,
            "author_name": None if author in (None, "[deleted]") else author,
            "title": title if not comment else _text(data.get("link_title")),
            "url": f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink else None,
            "reply_to": data.get("parent_id") if comment else None,
            "likes": data.get("score"),
            "replies": None if comment else data.get("num_comments"),
            "views": data.get("view_count"),
            "edited_at": dt.datetime.fromtimestamp(float(edited), dt.UTC)
            if isinstance(edited, int | float) and not isinstance(edited, bool) and edited
            else None,
            "is_deleted": deleted,
        }


def _created(child: object) -> float | None:
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        return None
    value = child["data"].get("created_utc")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return html.unescape(value).strip() or None

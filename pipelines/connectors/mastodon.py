"""Mastodon: hashtag timelines and (with a token) full-text status search, on one or more instances.

Queries (each with its own high-water mark), encoded as ``"<instance> tag:<tag>"`` and
``"<instance> search:<term>"``:

* one per (instance, hashtag): ``GET https://<instance>/api/v1/timelines/tag/<tag>?limit=40[&max_id=<id>]``.
  Public on most instances; an instance that disabled timeline previews for visitors answers 401/422
  without a token. The answer is a JSON array of Status entities, newest first (by id), at most 40
  (``limit`` max). The tag timeline holds original statuses (no boosts) that carry the tag, local and
  federated ones the instance knows about.
* with ``search: true`` and a token, one per (instance, term):
  ``GET https://<instance>/api/v2/search?q=<term>&type=statuses&limit=40&offset=<n>``. Answer
  ``{"accounts": [], "statuses": [Status...], "hashtags": []}``. Without a token Mastodon returns no
  statuses (and 401 for ``offset`` > 0), so these queries are skipped with a log line, not failed. Which
  statuses are searchable depends on the instance (Elasticsearch enabled; since 4.2 posts of accounts that
  opted in to search, and posts the token's user interacted with).

Status entity (the fields used): ``{"id" (local to the instance that answers), "uri" (ActivityPub id,
the same on every instance), "url", "created_at", "edited_at", "content" (HTML), "spoiler_text",
"language", "in_reply_to_id", "in_reply_to_account_id", "reblog" (the boosted Status or null),
"favourites_count", "reblogs_count", "replies_count", "mentions": [{"id", "username", "acct", "url"}],
"tags": [{"name", "url"}], "account": {"id", "username", "acct" ("user" for local accounts,
"user@domain" for remote ones), "display_name", "url", "note" (HTML), "created_at", "followers_count",
"following_count", "statuses_count", "bot"}}``.

Paging: newest first; the next page is ``max_id`` taken from the ``Link: <...max_id=...>; rel="next"``
header when present, else the id of the last status of the page (search pages by ``offset``). A query
stops at an empty page, when the last (oldest) status of a timeline page (every status of a search page,
whose order may be by relevance) is older than the window, or after ``max_pages`` pages. Only statuses whose ``created_at`` is inside the window are kept.

Limits a user must know:

* rate limits: 300 requests per 5 minutes per IP (anonymous) or per account (token) on default Mastodon
  settings (``X-RateLimit-*`` headers; 429 beyond, retried with backoff by ``Http``);
* ids are per instance, so posts are identified by the status ``uri`` (the same status seen on two
  instances is one post). ``reply_to`` is the parent's ``uri`` when it can be built (parent written by an
  account local to the answering instance: ``https://<host>/users/<username>/statuses/<in_reply_to_id>``,
  Mastodon's URI scheme); otherwise the parent's uri is unknown without one more request per reply, and
  ``reply_to`` is ``"unresolved:<in_reply_to_id>"``: the post counts as a reply but links to nothing;
* statuses federated late (created long before the instance received them) may fall before the
  high-water mark of their query and be missed;
* deleted statuses are not reported by these endpoints: a status deleted after it was landed stays;
  ``is_deleted`` is never set. Edits are reported through ``edited_at`` when a status is fetched again;
* boosts (``reblog``) are unwrapped: the boosted status is the post, its time decides the window;
* Mastodon has no verified accounts (``author_verified`` is None); media-only statuses without text or
  content warning have no text and are quarantined.

Credentials: optional access token (any scope, ``read:search`` suffices for search) from the env var
``token_env`` (default ``MASTODON_TOKEN``) or the Airflow Connection ``conn_id`` (password), sent as
``Authorization: Bearer <token>`` and never logged.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterator

from pipelines.connectors.base import Connector, Window, html_to_text, parse_time, register
from pipelines.connectors.http import MalformedResponse

log = logging.getLogger(__name__)

PAGE_LIMIT = 40  # the documented maximum of ``limit`` for timelines and search
_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _host(instance: str) -> str:
    """``mastodon.social`` from ``mastodon.social``, ``https://mastodon.social/`` or ``@mastodon.social``."""
    value = instance.strip().lstrip("@")
    if "://" in value:
        value = urllib.parse.urlsplit(value).netloc
    return value.strip("/").lower()


def _status(record: dict) -> dict:
    """The status a record stands for: the boosted one for a boost."""
    reblog = record.get("reblog")
    return reblog if isinstance(reblog, dict) else record


def _url_host(url: object) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    return urllib.parse.urlsplit(url).netloc or None


@register
class Mastodon(Connector):
    kind = "mastodon"
    default_base_url = "https://mastodon.social"

    # -- queries ------------------------------------------------------------------------------------------
    def hashtags(self) -> list[str]:
        tags = self.source.hashtags
        if tags is None:
            tags = [tag for brand in self.project.config.brands for tag in brand.hashtags]
        out: list[str] = []
        for tag in tags:
            tag = tag.strip().lstrip("#")
            if tag and tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
        return out

    def instances(self) -> list[str]:
        out: list[str] = []
        for instance in self.source.instances:
            host = _host(instance)
            if host and host not in out:
                out.append(host)
        return out

    def token(self) -> str | None:
        return self.secret(self.source.token_env) or None

    def queries(self) -> list[str]:
        instances = self.instances()
        queries = [f"{host} tag:{tag}" for host in instances for tag in self.hashtags()]
        if self.source.search:
            if self.token():
                queries += [f"{host} search:{term}" for host in instances for term in self.brand_terms()]
            else:
                where = f"${self.source.token_env}" if self.source.token_env else "token_env"
                log.info(
                    "%s: status search skipped: Mastodon searches statuses only with an access token "
                    "(set %s); hashtag timelines are read anonymously",
                    self.source.name,
                    where,
                )
        return queries

    def api_root(self, host: str) -> str:
        """Where an instance's API lives: ``base_url`` when configured (a mirror or a test server serving
        every instance), else ``https://<host>``."""
        return self.source.base_url.rstrip("/") if self.source.base_url else f"https://{host}"

    def _parse_query(self, query: str) -> tuple[str, str, str]:
        host, _, rest = query.partition(" ")
        what, _, value = rest.partition(":")
        if what not in ("tag", "search") or not host or not value:
            raise ValueError(f"{self.source.name}: not a Mastodon query: {query!r}")
        return host, what, value

    # -- fetching -----------------------------------------------------------------------------------------
    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        host, what, value = self._parse_query(query)
        root = self.api_root(host)
        token = self.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if what == "tag":
            url = f"{root}/api/v1/timelines/tag/{urllib.parse.quote(value, safe='')}"
            yield from self._pages(url, {"limit": PAGE_LIMIT}, headers, window, "timeline", by_offset=False)
        else:
            if not token:  # a query landed earlier with a token, run again without one
                log.info("%s: %r skipped: status search needs an access token", self.source.name, query)
                return
            params = {"q": value, "type": "statuses", "limit": PAGE_LIMIT}
            yield from self._pages(f"{root}/api/v2/search", params, headers, window, "search", by_offset=True)

    def _pages(
        self, url: str, params: dict, headers: dict, window: Window, label: str, by_offset: bool
    ) -> Iterator[dict]:
        offset, max_id = 0, None
        for _ in range(self.source.max_pages):
            page_params = dict(params)
            if by_offset and offset:
                page_params["offset"] = offset
            if max_id:
                page_params["max_id"] = max_id
            response = self.http.request(url, page_params, headers)
            body = response.json()
            statuses = body.get("statuses") if by_offset and isinstance(body, dict) else body
            if not isinstance(statuses, list):
                raise MalformedResponse(
                    f"{self.source.name}: {label} answered {type(body).__name__} instead of a list of statuses"
                )
            if not statuses:
                return
            for record in statuses:
                moment = parse_time(_status(record).get("created_at")) if isinstance(record, dict) else None
                if moment is None or moment in window:
                    yield record  # unreadable ones too: quarantined with the reason at normalisation
            times = [parse_time(r.get("created_at")) if isinstance(r, dict) else None for r in statuses]
            last = statuses[-1]
            if by_offset:  # search: stop once a whole page is older than the window (order may be by rank)
                if all(t is not None and t < window.since for t in times):
                    return
                offset += len(statuses)
                continue
            if times[-1] is not None and times[-1] < window.since:  # timelines are newest first
                return
            next_max = self._next_max_id(response.headers)
            if next_max is None:
                if any(k.lower() == "link" for k in response.headers):
                    return  # a Link header without rel="next": the end of the timeline
                next_max = str(last.get("id") or "") if isinstance(last, dict) else ""
            if not next_max or next_max == max_id:
                return
            max_id = next_max

    @staticmethod
    def _next_max_id(headers: dict[str, str]) -> str | None:
        link = next((v for k, v in headers.items() if k.lower() == "link"), None)
        match = _NEXT_RE.search(link or "")
        if not match:
            return None
        values = urllib.parse.parse_qs(urllib.parse.urlsplit(match.group(1)).query).get("max_id")
        return values[0] if values else None

    # -- mapping ------------------------------------------------------------------------------------------
    def fields(self, record: dict) -> dict:
        status = _status(record)
        account = status.get("account") or {}
        if not isinstance(account, dict):
            raise TypeError(f"account is {type(account).__name__}, not an object")
        native_id = status.get("uri") or status.get("url")
        if not native_id:
            raise KeyError("uri")
        content = html_to_text(status.get("content"))
        spoiler = html_to_text(status.get("spoiler_text"))
        text = "\n\n".join(part for part in (spoiler, content) if part) or None
        url = status.get("url") or (native_id if str(native_id).startswith("https://") else None)
        return {
            "native_id": str(native_id),
            "text": text,
            "created_at": status.get("created_at"),
            "author": self._acct(account),
            "author_name": account.get("display_name") or account.get("username") or None,
            "url": url,
            "reply_to": self._reply_to(status, account),
            "language": status.get("language"),
            "likes": status.get("favourites_count"),
            "reposts": status.get("reblogs_count"),
            "replies": status.get("replies_count"),
            "author_followers": account.get("followers_count"),
            "author_following": account.get("following_count"),
            "author_post_count": account.get("statuses_count"),
            "author_created_at": account.get("created_at"),
            "author_verified": None,
            "author_bio": html_to_text(account.get("note")) or None,
            "edited_at": status.get("edited_at"),
        }

    @staticmethod
    def _acct(account: dict) -> str | None:
        """``user@domain`` for every account (local accounts' ``acct`` lacks the domain: it is the host of
        their profile URL)."""
        acct = account.get("acct") or account.get("username")
        if not acct:
            return None
        acct = str(acct).lstrip("@")
        if "@" not in acct:
            host = _url_host(account.get("url"))
            if host:
                acct = f"{acct}@{host}"
        return acct

    @staticmethod
    def _reply_to(status: dict, account: dict) -> str | None:
        parent = status.get("in_reply_to_id")
        if parent in (None, ""):
            return None
        parent_account = status.get("in_reply_to_account_id")
        candidates = [account, *(m for m in status.get("mentions") or [] if isinstance(m, dict))]
        for candidate in candidates:
            if parent_account is None or str(candidate.get("id")) != str(parent_account):
                continue
            acct, username = candidate.get("acct") or "", candidate.get("username")
            host = _url_host(candidate.get("url"))
            if username and host and "@" not in str(acct):  # local to the answering instance
                scheme = urllib.parse.urlsplit(str(candidate["url"])).scheme
                return f"{scheme}://{host}/users/{username}/statuses/{parent}"
        return f"unresolved:{parent}"

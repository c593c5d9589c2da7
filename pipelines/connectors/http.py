"""A polite, robust HTTP client for the live connectors (standard library only).

* a request budget per source (``rate_per_minute``): requests are spaced, never bursty;
* 429 and 503 honour ``Retry-After`` (seconds or an HTTP date), else ``X-RateLimit-Reset``, capped at
  ``max_wait_s``;
* 5xx, timeouts and dropped connections are retried with exponential backoff and full jitter;
* 401/403 fail at once with a message that says the credentials were rejected; other 4xx fail at once;
* every failure is a ``SourceError`` naming the source and the URL (query strings with secrets are
  never logged: only the path is).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

USER_AGENT = "listening/0.1 (+https://github.com/; competitor listening)"


class SourceError(RuntimeError):
    """A source that is down, refuses us or answers nonsense; the message is for the user. ``status`` and
    ``detail`` (the start of the error body) let a connector tell reasons apart (e.g. a YouTube 403 for
    disabled comments from one for a bad key)."""

    def __init__(self, message: str, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail


class CredentialsError(SourceError):
    """Missing or rejected credentials."""


class MalformedResponse(SourceError):
    """A response body that is not what the documented API returns (truncated JSON, wrong shape)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    source: str = ""

    def json(self) -> object:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedResponse(
                f"{self.source}: {_safe(self.url)} answered a body that is not valid JSON ({exc}; "
                f"{len(self.body)} bytes, starting {self.body[:60]!r})"
            ) from None


def _safe(url: str) -> str:
    """The URL without its query string (which may hold keys or tokens)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _server_wait(headers: dict[str, str]) -> float | None:
    """How long the server asks us to wait: Retry-After, else X-RateLimit-Reset (Mastodon sends an ISO
    time, Reddit seconds until the reset)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    wait = retry_after_seconds(lowered.get("retry-after"))
    reset = lowered.get("x-ratelimit-reset")
    if wait is not None or not reset:
        return wait
    try:
        return max(0.0, float(reset))
    except ValueError:
        pass
    try:
        import datetime as dt

        when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
        return max(0.0, when.timestamp() - time.time())
    except ValueError:
        return None


@dataclass
class Http:
    """One source's HTTP client; ``sleep`` and ``rng`` are injectable so tests do not wait."""

    source: str
    rate_per_minute: float = 30
    timeout_s: float = 20
    max_retries: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 120
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    requests: int = 0
    retries: int = 0
    _last: float = 0.0

    def _pace(self) -> None:
        interval = 60.0 / self.rate_per_minute
        wait = self._last + interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def request(
        self,
        url: str,
        params: dict | list | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        method: str | None = None,
    ) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params, doseq=True)}"
        request_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        attempt = 0
        while True:
            self._pace()
            self.requests += 1
            request = urllib.request.Request(url, data=data, headers=request_headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                    return Response(reply.status, dict(reply.headers.items()), reply.read(), url, self.source)
            except urllib.error.HTTPError as exc:
                status, reply_headers = exc.code, dict(exc.headers.items()) if exc.headers else {}
                body = exc.read()[:4000].decode("utf-8", "replace") if exc.fp else ""
                if status in (401, 403):
                    raise CredentialsError(
                        f"{self.source}: {_safe(url)} answered {status}: credentials missing or rejected "
                        f"(check the keys named in docs/connectors.md). {body.strip()[:160]}",
                        status,
                        body,
                    ) from None
                retryable = status == 429 or status >= 500
                if not retryable:
                    raise SourceError(
                        f"{self.source}: {_safe(url)} answered {status}: {body.strip()[:200]}", status, body
                    ) from None
                wait = _server_wait(reply_headers) if status in (429, 503) else None
                reason = f"HTTP {status}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                wait, reason = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            attempt += 1
            if attempt > self.max_retries:
                raise SourceError(
                    f"{self.source}: {_safe(url)} still failing after {self.max_retries} retries ({reason})"
                )
            if wait is None:  # exponential backoff with full jitter
                wait = self.rng.uniform(0, self.backoff_s * 2 ** (attempt - 1))
            wait = min(wait, self.max_wait_s)
            self.retries += 1
            log.warning("%s: %s on %s; retry %d/%d in %.1f s", self.source, reason, _safe(url), attempt,
                        self.max_retries, wait)  # fmt: skip
            self.sleep(wait)

    def get_json(
        self, url: str, params: dict | list | None = None, headers: dict[str, str] | None = None
    ) -> object:
        return self.request(url, params, headers).json()

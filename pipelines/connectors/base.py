"""The small interface every live connector implements, and what they share: windows, high-water marks,
credentials, landing raw batches.

A connector says which queries it runs (``queries``), yields the records a query returns inside a time
window, exactly as received (``fetch``), and maps one such record to post fields (``fields``, the same
names a file mapping targets: ``schemas.config.FIELD_TARGETS``). Everything else is here:

* the window of a run: from the query's high-water mark (or ``backfill_days`` before now on the first
  run) to now, or an explicit ``--since``/``--until``;
* the raw batch of (source, query, window) is landed once; a rerun of the same window reuses it, so it
  gives the same posts (idempotent); the high-water mark moves only forward;
* records that are not JSON objects are quarantined at landing; records ``fields`` cannot map are
  quarantined at normalisation, with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pipelines.connectors.http import CredentialsError, Http
from pipelines.project import Project
from pipelines.storage import STATE
from schemas.config import FIELD_TARGETS, LiveSource

log = logging.getLogger(__name__)

IDENTITY_MAPPING = {name: name for name in FIELD_TARGETS if name != "source"}
_TAG_RE = re.compile(r"<[^>]+>")
_BREAK_RE = re.compile(r"<\s*(br|/p|/div|/li)\s*/?>", re.I)


@dataclass(frozen=True)
class Window:
    since: dt.datetime
    until: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.since <= moment < self.until

    def key(self) -> str:
        return f"{self.since.isoformat()}/{self.until.isoformat()}"


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (Mastodon content, feed summaries): tags dropped, entities decoded."""
    import html

    if not value:
        return ""
    text = _BREAK_RE.sub("\n", value)
    text = html.unescape(_TAG_RE.sub("", text))
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()


def parse_time(value: object) -> dt.datetime | None:
    """An ISO 8601 time as the APIs send it (``2026-11-20T08:01:02Z``, offsets allowed) in UTC; None when
    it is missing or unreadable (the record is then skipped or quarantined by the caller)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc(moment)


def utc(value: dt.datetime) -> dt.datetime:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class Connector(ABC):
    """One kind of live source. Subclasses set ``kind`` and implement the three methods."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(self, project: Project, source: LiveSource, http: Http):
        self.project = project
        self.source = source
        self.http = http
        self.base_url = (source.base_url or self.default_base_url).rstrip("/")

    # -- to implement -----------------------------------------------------------------------------------
    @abstractmethod
    def queries(self) -> list[str]:
        """The queries one run makes (search terms, feeds, videos...), each with its own high-water mark."""

    @abstractmethod
    def fetch(self, query: str, window: Window) -> Iterator[dict]:
        """The records the query returns whose time is in the window, as received (JSON objects).
        At most ``source.max_pages`` pages; raise ``SourceError`` when the source fails."""

    @abstractmethod
    def fields(self, record: dict) -> dict:
        """Post fields of one record (keys from FIELD_TARGETS); raise ``FieldError``/``KeyError``/``TypeError``
        for a record that cannot be used (it is quarantined with the message)."""

    def check(self) -> None:
        """Raise ``CredentialsError`` when a credential the source needs is not configured (the run is
        then skipped with that message, not failed). Sources without credentials need nothing."""
        return None

    # -- shared helpers ----------------------------------------------------------------------------------
    def brand_terms(self) -> list[str]:
        """Default search terms: each brand's name and aliases, without duplicates."""
        if self.source.queries:
            return list(self.source.queries)
        terms: list[str] = []
        for brand in self.project.config.brands:
            for term in [brand.name, *brand.aliases]:
                if term.lower() not in {t.lower() for t in terms}:
                    terms.append(term)
        return terms

    def secret(self, env: str | None, field: str = "password") -> str | None:
        """A credential: from the Airflow Connection ``conn_id`` (field login/password/extra key) when
        configured, else from the environment variable ``env``. Never logged."""
        if self.source.conn_id:
            try:
                from airflow.sdk import BaseHook  # type: ignore[attr-defined]
            except ImportError:  # pragma: no cover - older layout
                from airflow.hooks.base import BaseHook
            conn = BaseHook.get_connection(self.source.conn_id)
            value = (
                getattr(conn, field, None)
                if field in ("login", "password", "host")
                else conn.extra_dejson.get(field)
            )
            if value:
                return str(value)
        return os.environ.get(env) if env else None

    def require(self, env: str, what: str, field: str = "password") -> str:
        value = self.secret(env, field)
        if not value:
            where = (
                f"Airflow Connection {self.source.conn_id!r} ({field})" if self.source.conn_id else f"${env}"
            )
            raise CredentialsError(f"{self.source.name}: {what} missing: set {where} (docs/connectors.md)")
        return value


# -- high-water marks -------------------------------------------------------------------------------------
def _mark_path(project: Project, source: str, query: str) -> str:
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
    return project.storage.path(STATE, "watermarks", f"source={source}", f"{digest}.json")


def read_mark(project: Project, source: str, query: str) -> dt.datetime | None:
    path = _mark_path(project, source, query)
    if not project.storage.exists(path):
        return None
    return dt.datetime.fromisoformat(project.storage.read_json(path)["until"])


def write_mark(project: Project, source: str, query: str, until: dt.datetime) -> None:
    current = read_mark(project, source, query)
    if current is None or until > current:  # only forward: a backfill never rewinds the live position
        project.storage.write_json(
            _mark_path(project, source, query), {"query": query, "until": until.isoformat()}
        )


def window_for(
    project: Project,
    source: LiveSource,
    query: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    now: dt.datetime,
) -> Window:
    until = utc(until) if until else now.replace(second=0, microsecond=0)
    if since is None:
        mark = read_mark(project, source.name, query)
        since = mark if mark is not None else until - dt.timedelta(days=source.backfill_days)
    return Window(utc(since), until)


CONNECTORS: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    CONNECTORS[cls.kind] = cls
    return cls


def connector_for(project: Project, source: LiveSource, http: Http | None = None) -> Connector:
    from pipelines import connectors  # noqa: F401  (imports every connector module, which registers it)

    if source.kind not in CONNECTORS:
        raise NotImplementedError(f"source kind {source.kind!r} has no connector")
    http = http or Http(
        source.name,
        rate_per_minute=source.rate_per_minute,
        timeout_s=source.timeout_s,
        max_retries=source.max_retries,
    )
    return CONNECTORS[source.kind](project, source, http)

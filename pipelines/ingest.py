"""Ingestion: sources -> raw layer -> posts, with quarantine for what cannot be used.

``ingest_source`` is what the ``listening_ingest`` DAG maps over and what ``listening ingest`` runs.
``import_file`` is the ad-hoc path behind ``listening import``. Both land the input in the raw layer
first (immutable: a batch already landed is reused, so reruns are idempotent), then normalise it.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.connectors.base import (
    IDENTITY_MAPPING,
    Connector,
    Window,
    connector_for,
    window_for,
    write_mark,
)
from pipelines.connectors.file_import import FileImportError, check_mapping, read_file
from pipelines.connectors.http import CredentialsError, Http
from pipelines.contracts import to_arrow, violations
from pipelines.identity import Pseudonymiser, content_id, pseudonym_key
from pipelines.normalise import BrandAccounts, FieldError, normalise_envelopes
from pipelines.posts import upsert_posts
from pipelines.project import Project
from pipelines.storage import Storage
from schemas.config import FIELD_TARGETS, IDENTIFIER, FileSource, LiveSource
from schemas.tables import POSTS, QUARANTINE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileSpec:
    """How to read one export: the same fields whether they come from config or the command line."""

    source: str
    mapping: dict[str, str]
    fmt: str = "auto"
    timezone: str = "UTC"
    encoding: str | None = None
    date_format: str | None = None

    @classmethod
    def from_config(cls, source: FileSource, project_timezone: str) -> FileSpec:
        return cls(
            source.name,
            dict(source.mapping),
            source.format,
            source.timezone or project_timezone,
            source.encoding,
        )

    def __post_init__(self) -> None:
        if not re.match(IDENTIFIER, self.source):
            raise FileImportError(
                f"source id {self.source!r} must be lowercase letters, digits and '_' (e.g. 'brandwatch_export')"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise FileImportError(
                f"unknown timezone {self.timezone!r} (use an IANA name like 'Europe/Warsaw')"
            ) from None

    def fingerprint(self) -> str:
        return json.dumps(
            [
                self.source,
                sorted(self.mapping.items()),
                self.fmt,
                self.timezone,
                self.encoding,
                self.date_format,
            ]
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _quarantine_rows(
    stage: str, source: str, batch_id: str, items: list[tuple[int, str | None, str, str]], when: dt.datetime
) -> list[dict]:
    return [
        {
            "stage": stage,
            "source": source,
            "batch_id": batch_id,
            "record_index": index,
            "origin": origin,
            "reason": reason,
            "record": record,
            "quarantined_at": when,
        }
        for index, origin, reason, record in items
    ]


def write_quarantine(storage: Storage, stage: str, source: str, batch_id: str, rows: list[dict]) -> int:
    """Replace the quarantine file of (stage, batch): reruns never pile up duplicates."""
    path = storage.quarantine_path(stage, source, batch_id)
    if rows:
        storage.write_parquet(path, to_arrow(rows, QUARANTINE))
    else:
        storage.remove(path)
    return len(rows)


def land_file(project: Project, path: Path, spec: FileSpec) -> str:
    """Land one export in the raw layer (once); bad rows go to quarantine. Returns the raw batch path."""
    storage = project.storage
    if spec.mapping.keys() - set(FIELD_TARGETS):
        raise FileImportError(f"unknown mapping target(s) {sorted(spec.mapping.keys() - set(FIELD_TARGETS))}")
    for needed in ("text", "created_at"):
        if needed not in spec.mapping:
            raise FileImportError(
                f"the mapping must say which column holds {needed!r} (--map {needed}=COLUMN)"
            )
    if not path.is_file():
        raise FileImportError(f"no such file: {path}")
    data = path.read_bytes()
    batch_id = "file-" + content_id(hashlib.sha256(data).hexdigest(), spec.fingerprint())
    existing = storage.find_raw_batch(spec.source, batch_id)
    if existing:
        log.info("%s already landed as %s; reusing it", path.name, storage.relative(existing))
        return existing

    result = read_file(path, spec.fmt, spec.encoding)
    check_mapping(result, spec.mapping, path)
    fetched = _now()
    envelopes = [
        {
            "source": spec.source,
            "native_id": str(r.fields.get(spec.mapping["native_id"]))
            if "native_id" in spec.mapping and r.fields.get(spec.mapping["native_id"]) not in (None, "")
            else None,
            "fetched_at": fetched.isoformat(),
            "query": f"file:{path.name}",
            "batch_id": batch_id,
            "record_index": r.index,
            "origin": r.origin,
            "payload": r.fields,
        }
        for r in result.good
    ]
    bad = [(r.index, r.origin, r.error, r.raw_text or "") for r in result.bad]
    write_quarantine(
        storage,
        "import",
        spec.source,
        batch_id,
        _quarantine_rows("import", spec.source, batch_id, bad, fetched),
    )
    raw_path = storage.raw_batch_path(spec.source, fetched.date().isoformat(), batch_id)
    storage.write_json(meta_path(raw_path), {
        "kind": "file", "file": str(path), "sha256": hashlib.sha256(data).hexdigest(),
        "mapping": spec.mapping, "format": spec.fmt, "timezone": spec.timezone,
        "encoding": result.encoding, "date_format": spec.date_format, "warnings": result.warnings,
        "columns": result.columns, "records": len(result.records), "rejected": len(bad),
        "fetched_at": fetched.isoformat(),
    })  # fmt: skip
    storage.write_jsonl_gz(raw_path, envelopes)  # written last: its presence means the batch is complete
    log.info("landed %s: %d records, %d quarantined at import", path.name, len(envelopes), len(bad))
    return raw_path


def land_live(project: Project, connector: Connector, query: str, window: Window) -> str:
    """Land what one query of a live source returns in the window (once per window). Returns the batch path."""
    storage, source = project.storage, connector.source
    batch_id = "live-" + content_id(source.name, source.kind, query, window.key())
    existing = storage.find_raw_batch(source.name, batch_id)
    if existing:
        log.info(
            "%s %r %s already landed as %s; reusing it",
            source.name,
            query,
            window.key(),
            storage.relative(existing),
        )
        return existing
    fetched = _now()
    records, bad = [], []
    for index, record in enumerate(connector.fetch(query, window)):
        if isinstance(record, dict):
            records.append((index, record))
        else:
            bad.append(
                (
                    index,
                    f"{source.kind}:{query}",
                    "not a JSON object",
                    json.dumps(record, default=str)[:10_000],
                )
            )
    envelopes = [
        {"source": source.name, "native_id": None, "fetched_at": fetched.isoformat(), "query": query,
         "batch_id": batch_id, "record_index": index, "origin": f"{source.kind}:{query}", "payload": record}
        for index, record in records
    ]  # fmt: skip
    write_quarantine(storage, "import", source.name, batch_id,
                     _quarantine_rows("import", source.name, batch_id, bad, fetched))  # fmt: skip
    raw_path = storage.raw_batch_path(source.name, fetched.date().isoformat(), batch_id)
    storage.write_json(meta_path(raw_path), {
        "kind": source.kind, "connector": source.kind, "query": query, "since": window.since.isoformat(),
        "until": window.until.isoformat(), "mapping": IDENTITY_MAPPING, "timezone": "UTC",
        "records": len(envelopes), "rejected": len(bad), "fetched_at": fetched.isoformat(),
        "requests": connector.http.requests, "retries": connector.http.retries,
    })  # fmt: skip
    storage.write_jsonl_gz(raw_path, envelopes)  # written last: its presence means the batch is complete
    log.info(
        "%s %r: landed %d records (%d rejected) for %s",
        source.name,
        query,
        len(envelopes),
        len(bad),
        window.key(),
    )
    return raw_path


def _connector_fields(project: Project, meta: dict, source: str, envelopes: list[dict]):
    """Live batches hold records as received: map each to post fields with its connector (failures: reasons)."""
    config_source = project.config.source(source)
    if config_source.kind != meta["connector"]:
        raise FileImportError(
            f"{source}: batch was landed by {meta['connector']}, config says {config_source.kind}"
        )
    connector = connector_for(project, config_source)
    mapped, failed = [], []
    for envelope in envelopes:
        try:
            mapped.append({**envelope, "payload": connector.fields(envelope["payload"])})
        except (FieldError, KeyError, TypeError, ValueError, AttributeError) as exc:
            failed.append((envelope, f"{meta['connector']} record: {type(exc).__name__}: {exc}"))
    return mapped, failed


def normalise_batch(project: Project, raw_path: str, pseudonymiser: Pseudonymiser) -> tuple[list[dict], dict]:
    """Normalise one raw batch; write its quarantine; return (posts rows, counts)."""
    storage = project.storage
    meta = storage_meta(project, raw_path)
    envelopes = list(storage.read_jsonl_gz(raw_path))
    batch_id = Path(raw_path).name.removesuffix(".jsonl.gz")
    source = (
        envelopes[0]["source"] if envelopes else Path(raw_path).parent.parent.name.removeprefix("source=")
    )
    unmapped: list = []
    if meta.get("connector"):
        envelopes, unmapped = _connector_fields(project, meta, source, envelopes)
    result = normalise_envelopes(
        envelopes,
        meta["mapping"],
        default_source=source,
        tz=ZoneInfo(meta.get("timezone") or project.config.timezone),
        accounts=BrandAccounts(project.config.brands),
        pseudonymiser=pseudonymiser,
        date_format=meta.get("date_format"),
        raw_ref=storage.relative(raw_path),
    )
    fetched = dt.datetime.fromisoformat(meta["fetched_at"])
    rejected = [
        (
            env["record_index"],
            env.get("origin"),
            reason,
            json.dumps(env["payload"], ensure_ascii=False, default=str),
        )
        for env, reason in [*unmapped, *result.rejected]
    ]
    write_quarantine(
        storage,
        "normalise",
        source,
        batch_id,
        _quarantine_rows("normalise", source, batch_id, rejected, fetched),
    )
    good, broken = [], []
    for row in result.rows:
        problems = violations(row, POSTS)
        if problems:
            index = int(row["raw_ref"].rsplit("#", 1)[1])
            broken.append((index, row["raw_ref"], "; ".join(problems), json.dumps(row, default=str)))
        else:
            good.append(row)
    write_quarantine(
        storage, "contract", source, batch_id, _quarantine_rows("contract", source, batch_id, broken, fetched)
    )
    if result.nulled:
        log.warning("%s: unreadable optional values set to null: %s", batch_id, dict(result.nulled))
    counts = {
        "batch": batch_id,
        "raw_records": len(envelopes),
        "import_rejected": meta.get("rejected", 0),
        "normalise_rejected": len(rejected),
        "contract_rejected": len(broken),
        "posts": len(good),
        "nulled_optional_values": dict(result.nulled),
        "warnings": meta.get("warnings", []),
    }
    return good, counts


def _ingest_batches(project: Project, raw_paths: list[str], label: str) -> dict:
    pseudonymiser = Pseudonymiser(pseudonym_key(project.storage))
    rows: list[dict] = []
    batches = []
    for raw_path in raw_paths:
        batch_rows, counts = normalise_batch(project, raw_path, pseudonymiser)
        rows.extend(batch_rows)
        batches.append(counts)
    written = upsert_posts(project.storage, rows, label=label)
    totals = {
        key: sum(b[key] for b in batches)
        for key in ("raw_records", "import_rejected", "normalise_rejected", "contract_rejected", "posts")
    }
    return {
        "batches": batches,
        **totals,
        "quarantined": totals["import_rejected"] + totals["normalise_rejected"] + totals["contract_rejected"],
        "written": written,
    }


def _expand(project: Project, pattern: str) -> list[Path]:
    resolved = project.resolve(pattern)
    paths = sorted(Path(p) for p in glob.glob(str(resolved)))
    if not paths:
        raise FileImportError(f"no file matches {pattern!r} (looked for {resolved})")
    return paths


def ingest_live(
    project: Project,
    source: LiveSource,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Every query of a live source: land its window in raw (high-water mark moves on), then normalise."""
    connector = connector_for(project, source)
    try:
        connector.check()
    except CredentialsError as exc:
        log.warning("%s skipped: %s", source.name, exc)
        return {"source": source.name, "skipped": str(exc)}
    now = _now()
    raw_paths = []
    try:
        for query in connector.queries():
            window = window_for(project, source, query, since, until, now)
            raw_paths.append(land_live(project, connector, query, window))
            write_mark(project, source.name, query, window.until)
            if progress:
                progress(query, int(storage_meta(project, raw_paths[-1]).get("records", 0)))
    except Exception:
        # The queries that did land moved their marks: make their posts now, then fail loudly.
        if raw_paths:
            _ingest_batches(project, raw_paths, label=f"source {source.name} (before the failure)")
        raise
    summary = _ingest_batches(project, raw_paths, label=f"source {source.name}")
    return {"source": source.name, "queries": len(raw_paths), "requests": connector.http.requests,
            "retries": connector.http.retries, **summary}  # fmt: skip


# Mapped tasks of one Airflow run that may fetch from the same source at once (listening_ingest).
PARALLEL_QUERIES = 4


def plan_work(project: Project) -> list[dict]:
    """What ``listening_ingest`` maps over: one item per (live source, query) and one per file source. A
    live source without credentials is one item carrying the reason it is skipped."""
    items: list[dict] = []
    for name in enabled_sources(project):
        source = project.config.source(name)
        if source.kind == "file":
            items.append({"source": name, "query": None})
            continue
        connector = connector_for(project, source)
        try:
            connector.check()
        except CredentialsError as exc:
            items.append({"source": name, "query": None, "skipped": str(exc)})
            continue
        queries = connector.queries()
        items.extend({"source": name, "query": query, "queries": len(queries)} for query in queries)
    return items


def land_work(project: Project, item: dict) -> dict:
    """One mapped task. A file source is read and normalised whole. A live (source, query) lands its
    window (once) and moves its mark; ``normalise_landed`` makes the posts. Queries of one source that
    run in parallel share its request budget (each gets rate_per_minute / PARALLEL_QUERIES)."""
    source = project.config.source(item["source"])
    if source.kind == "file":
        return ingest_summary(ingest_source(project, source.name)) | {"normalised": True}
    share = max(1, min(PARALLEL_QUERIES, int(item.get("queries", 1))))
    http = Http(source.name, rate_per_minute=source.rate_per_minute / share, timeout_s=source.timeout_s,
                max_retries=source.max_retries)  # fmt: skip
    connector = connector_for(project, source, http)
    window = window_for(project, source, item["query"], None, None, _now())
    raw_path = land_live(project, connector, item["query"], window)
    write_mark(project, source.name, item["query"], window.until)
    return {"source": source.name, "query": item["query"], "raw_path": raw_path,
            "requests": http.requests, "retries": http.retries}  # fmt: skip


def normalise_landed(project: Project, landed: Iterable[dict | None]) -> list[dict]:
    """Posts from every batch the mapped tasks landed: one normalisation per live source (so one writer
    per posts partition); file sources were normalised when read. Failed tasks left nothing here."""
    landed = [item for item in landed if item]
    results = [item for item in landed if item.get("normalised")]
    by_source: dict[str, list[str]] = {}
    for item in landed:
        if "raw_path" in item:
            by_source.setdefault(item["source"], []).append(item["raw_path"])
    for name, paths in sorted(by_source.items()):
        summary = _ingest_batches(project, paths, label=f"source {name}")
        results.append(ingest_summary({"source": name, "queries": len(paths), **summary}))
    return results


def meta_path(raw_path: str) -> str:
    """The ``.meta.json`` that describes a raw batch."""
    return raw_path.replace(".jsonl.gz", ".meta.json")


def storage_meta(project: Project, raw_path: str) -> dict:
    return project.storage.read_json(meta_path(raw_path))


def ingest_source(
    project: Project,
    name: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Fetch (or read) one configured source into raw, then normalise it into posts."""
    source = project.config.source(name)
    if not source.enabled:
        log.warning("source %s is disabled in the config; nothing to do", name)
        return {"source": name, "skipped": "disabled"}
    if source.kind != "file":
        return ingest_live(project, source, since, until, progress)
    spec = FileSpec.from_config(source, project.config.timezone)
    raw_paths = [land_file(project, path, spec) for path in _expand(project, source.path)]
    summary = _ingest_batches(project, raw_paths, label=f"source {name}")
    return {"source": name, **summary}


def import_file(project: Project, path: str | Path, spec: FileSpec) -> dict:
    """``listening import``: land and normalise one file with an explicit mapping."""
    raw_path = land_file(project, Path(path), spec)
    return {"source": spec.source, **_ingest_batches(project, [raw_path], label=f"import {Path(path).name}")}


def enabled_sources(project: Project) -> list[str]:
    return [s.name for s in project.config.sources if s.enabled]


def ingest_summary(result: dict) -> dict:
    """A source's result without per-batch detail (small enough for an XCom)."""
    return {k: v for k, v in result.items() if k != "batches"}


def combine_summaries(results: list[dict]) -> dict:
    results = list(results)
    dates = sorted({d for r in results for d in r.get("written", {}).get("dates", [])})
    return {
        "sources": [r["source"] for r in results],
        "posts": sum(r.get("posts", 0) for r in results),
        "quarantined": sum(r.get("quarantined", 0) for r in results),
        "dates": dates,
    }

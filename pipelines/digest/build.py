"""Building a week's digest: render it, archive it under ``digests/<week>/``, deliver it once.

Archive (rebuilt byte for byte from the same marts; no timestamps anywhere):

    digests/2026-W40/digest.html            self-contained (charts as data: URIs)
    digests/2026-W40/digest.md              charts referenced as charts/*.png
    digests/2026-W40/digest.pdf
    digests/2026-W40/charts/<chart>.png
    digests/2026-W40/marts/<mart>.csv       the week's rows of every mart (all slices), and .parquet
    digests/2026-W40/manifest.json          every file's sha256 and size, and the content hash

Delivery state: ``state/digests/<week>.json`` records per channel what was sent (content hash,
recipients); a channel already sent for the week is skipped unless ``force``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.digest.content import digest_content
from pipelines.digest.data import EXPORTED, load_week, parse_week, week_name
from pipelines.digest.deliver import DeliveryError, send_email, send_slack
from pipelines.digest.render import Rendered, render
from pipelines.project import Project
from pipelines.storage import DIGESTS, STATE, parquet_bytes

log = logging.getLogger(__name__)

FORMULA_RE = r"^[=+\-@\t\r]"


def render_digest(project: Project, week: str) -> Rendered:
    """The digest of an ISO week (``2026-W40``) in every format, without writing or sending anything."""
    data = load_week(project, week)
    content = digest_content(project, data)
    return render(content, data.trend.to_pylist(), project.config.digest.email.subject_prefix
                  if project.config.digest.email else "")  # fmt: skip


def _text_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as CSV text: lists and structs as JSON, everything else as Arrow casts it."""
    if (
        pa.types.is_list(column.type)
        or pa.types.is_struct(column.type)
        or pa.types.is_large_list(column.type)
    ):
        values = [
            None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in column.to_pylist()
        ]
        return pa.chunked_array([pa.array(values, pa.string())])
    return column


def _neutralise(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Spreadsheets run a cell that starts like a formula: prefix such text cells with an apostrophe."""
    risky = pc.match_substring_regex(column, FORMULA_RE)
    return pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), column, ""), column)


def csv_bytes(table: pa.Table) -> bytes:
    """A table as UTF-8 CSV (header, rows in table order, empty cell for null). Text cells that start with
    = + - @ (or a tab or carriage return) are neutralised against formula injection; numbers are written
    as the shortest text that reads back as the same value, so they are exactly the mart's."""
    columns = []
    for name in table.column_names:
        column = _text_column(table.column(name))
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = _neutralise(column)
        columns.append(column)
    buffer = io.BytesIO()
    pacsv.write_csv(
        pa.table(columns, names=table.column_names), buffer, pacsv.WriteOptions(quoting_style="needed")
    )
    return buffer.getvalue()


def archive_files(rendered: Rendered, marts: dict[str, pa.Table]) -> dict[str, bytes]:
    files = rendered.files()
    for name in EXPORTED:
        files[f"marts/{name}.parquet"] = parquet_bytes(marts[name])
        files[f"marts/{name}.csv"] = csv_bytes(marts[name])
    manifest = {
        "week": rendered.week,
        "start": rendered.content["start"],
        "end": rendered.content["end"],
        "project": rendered.content["project"],
        "files": {
            path: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for path, data in sorted(files.items())
        },
        "mart_rows": {name: marts[name].num_rows for name in EXPORTED},
        "movements": [m["title"] for m in rendered.content["movements"]],
    }  # fmt: skip
    manifest["content_hash"] = hashlib.sha256(
        json.dumps(manifest["files"], sort_keys=True).encode("utf-8")
    ).hexdigest()
    files["manifest.json"] = (
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()
    return files


def _deliver(project: Project, rendered: Rendered, content_hash: str, *, force: bool) -> dict:
    config = project.config.digest
    storage = project.storage
    state_path = storage.path(STATE, DIGESTS, f"{rendered.week}.json")
    state = (
        storage.read_json(state_path) if storage.exists(state_path) else {"week": rendered.week, "sent": {}}
    )
    channels = {"email": (config.email, send_email), "slack": (config.slack, send_slack)}
    report, errors = {}, []
    for channel, (settings, send) in channels.items():
        if settings is None:
            log.info(
                "digest %s: %s delivery is off (no digest.%s in the config)", rendered.week, channel, channel
            )
            report[channel] = {"status": "off"}
            continue
        previous = state["sent"].get(channel)
        if previous and not force:
            changed = previous.get("content_hash") != content_hash
            log.info("digest %s: already sent by %s%s; not sending again (use --force)", rendered.week,
                     channel, " (the content has changed since)" if changed else "")  # fmt: skip
            report[channel] = {"status": "already sent", "content_changed": changed}
            continue
        try:
            result = send(rendered, settings)
        except DeliveryError as exc:
            log.error("digest %s: %s", rendered.week, exc)
            report[channel] = {"status": "failed", "error": str(exc)}
            errors.append(str(exc))
            continue
        sends = (previous or {}).get("sends", 0) + 1
        state["sent"][channel] = {"content_hash": content_hash, "sends": sends,
                                  "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **result}  # fmt: skip
        storage.write_json(state_path, state)  # after each channel: a later failure must not resend this one
        report[channel] = {"status": "sent", **result}
    if errors:
        raise DeliveryError(
            "; ".join(errors) + f" (the archive is written; state in {storage.uri(STATE, DIGESTS)})"
        )
    return report


def build_digest(project: Project, week: str, *, deliver: bool = True, force: bool = False) -> dict:
    """Render the week's digest, write its archive (identical bytes on a rerun) and deliver it to each
    configured channel that has not had it yet (every channel again with ``force``)."""
    started = time.perf_counter()
    week = week_name(parse_week(week))
    data = load_week(project, week)
    content = digest_content(project, data)
    prefix = project.config.digest.email.subject_prefix if project.config.digest.email else ""
    rendered = render(content, data.trend.to_pylist(), prefix)
    files = archive_files(rendered, data.marts)
    storage = project.storage
    for path, blob in sorted(files.items()):
        target = storage.path(DIGESTS, week, path)
        if storage.exists(target) and storage.read_bytes(target) == blob:
            continue  # unchanged: leave the file (and its modification time) alone
        storage.write_bytes(target, blob)
    manifest = json.loads(files["manifest.json"])
    summary = {
        "week": week,
        "archive": storage.uri(DIGESTS, week),
        "files": len(files),
        "content_hash": manifest["content_hash"],
        "posts": content["methodology"]["posts"],
        "mentions": content["methodology"]["mentions"],
        "movements": manifest["movements"],
        "actions": [a["text"] for a in content["actions"]],
    }
    if deliver:
        summary["delivery"] = _deliver(project, rendered, manifest["content_hash"], force=force)
    else:
        log.info("digest %s: delivery skipped (--no-deliver)", week)
        summary["delivery"] = {"status": "skipped"}
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary

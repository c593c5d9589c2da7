"""What is in each layer: row counts, partitions, and why records were quarantined."""

from __future__ import annotations

from collections import Counter

import duckdb

from pipelines.project import Project
from pipelines.storage import ENRICHED, MARTS, POSTS, QUARANTINE, RAW


def _parquet_rows(storage, pattern: str) -> tuple[int, int]:
    files = storage.glob(pattern)
    if not files:
        return 0, 0
    rows = (
        duckdb.connect()
        .execute(f"SELECT COUNT(*) FROM read_parquet({files!r}, union_by_name = true)")
        .fetchone()[0]
    )
    return rows, len(files)


def quarantine_reasons(project: Project) -> list[dict]:
    files = project.storage.glob(f"{QUARANTINE}/stage=*/source=*/*.parquet")
    if not files:
        return []
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT stage, source, reason, origin FROM read_parquet({files!r}, union_by_name = true) "
            "ORDER BY stage, source, origin"
        )
        .fetchall()
    )
    return [{"stage": s, "source": src, "reason": r, "origin": o} for s, src, r, o in rows]


def layer_status(project: Project) -> dict:
    storage = project.storage
    raw_files = storage.glob(f"{RAW}/source=*/date=*/*.jsonl.gz")
    raw_rows = sum(sum(1 for _ in storage.read_jsonl_gz(p)) for p in raw_files)
    posts_rows, posts_files = _parquet_rows(storage, f"{POSTS}/date=*/source=*/posts.parquet")
    enriched_rows, enriched_files = _parquet_rows(storage, f"{ENRICHED}/date=*/enriched.parquet")
    marts = {}
    for path in storage.glob(f"{MARTS}/*/data.parquet"):
        marts[path.split("/")[-2]] = _parquet_rows(storage, storage.relative(path))[0]
    reasons = quarantine_reasons(project)
    by_reason = Counter(f"{r['stage']}: {r['reason'].split(' (')[0]}" for r in reasons)
    return {
        "storage": storage.uri(),
        "raw": {"records": raw_rows, "batches": len(raw_files)},
        "posts": {"rows": posts_rows, "partitions": posts_files},
        "enriched": {"rows": enriched_rows, "partitions": enriched_files},
        "marts": marts,
        "quarantine": {
            "records": len(reasons),
            "by_reason": dict(by_reason.most_common()),
            "records_detail": reasons,
        },
    }

"""The ``posts`` layer: upsert rows into date/source partitions, deduplicated on (source, native_id)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
import pyarrow as pa

from pipelines.contracts import conform, to_arrow
from pipelines.storage import POSTS as POSTS_LAYER
from pipelines.storage import Storage, partition_value
from pipelines.validation import validate
from schemas.tables import POSTS

# When the same post arrives twice, the latest edit, then the latest fetch, wins.
_LATEST_LAST = ["edited_at", "fetched_at"]


def deduplicate(data: pa.Table) -> pa.Table:
    frame = pl.from_arrow(data)
    frame = (
        frame.sort(_LATEST_LAST, nulls_last=False)
        .unique(subset=["source", "native_id"], keep="last", maintain_order=True)
        .sort("post_id")
    )
    return conform(frame.to_arrow(), POSTS)


def upsert_posts(storage: Storage, rows: list[dict], *, label: str = "") -> dict:
    """Merge rows into their partitions; validate everything written; return what changed.

    A rerun with the same rows rewrites the same partitions with the same content: no duplicates.
    """
    by_partition: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        day = row["created_at"].astimezone(dt.UTC).date().isoformat()
        by_partition[(day, row["source"])].append(row)

    merged: dict[tuple[str, str], pa.Table] = {}
    for (day, source), part_rows in sorted(by_partition.items()):
        new = to_arrow(part_rows, POSTS)
        path = storage.posts_partition(day, source)
        if storage.exists(path):
            new = pa.concat_tables([conform(storage.read_parquet(path), POSTS), new])
        merged[(day, source)] = deduplicate(new)

    if merged:
        # One Great Expectations run over everything about to be published: the gate.
        validate(pa.concat_tables(list(merged.values())), POSTS, label=label or "posts upsert")
    for (day, source), table in merged.items():
        storage.write_parquet(storage.posts_partition(day, source), table)
    return {
        "partitions": len(merged),
        "dates": sorted({day for day, _ in merged}),
        "rows_in": len(rows),
        "rows_in_partitions": sum(t.num_rows for t in merged.values()),
    }


def posts_partitions(storage: Storage) -> dict[str, list[str]]:
    """Posts partition files grouped by date."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in storage.glob(f"{POSTS_LAYER}/date=*/source=*/posts.parquet"):
        out[partition_value(path, "date")].append(path)
    return dict(out)

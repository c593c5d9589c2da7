"""Storage addressed by URI and laid out in layers.

The storage root is a local folder by default (``var/data``) or any fsspec URI (``file:///srv/listening``,
``s3://bucket/listening`` with the matching fsspec package installed). Under it:

    raw/source=<s>/date=<fetched day>/<batch>.jsonl.gz    immutable, as received (+ <batch>.meta.json)
    posts/date=<day>/source=<s>/posts.parquet             normalised, one file per partition
    enriched/date=<day>/enriched.parquet                  posts + NLP columns
    marts/<mart name>/data.parquet                        comparisons
    digests/<ISO week>/...                                weekly digests
    quarantine/stage=<stage>/source=<s>/<batch>.parquet   rejected records with reasons
    state/                                                watermarks, local keys

Every write goes to a temporary name first and is renamed into place, so readers never see half a
file and a crashed run leaves the previous version intact.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

RAW, POSTS, ENRICHED, MARTS, DIGESTS, QUARANTINE, STATE = (
    "raw", "posts", "enriched", "marts", "digests", "quarantine", "state",
)  # fmt: skip


class Storage:
    """A storage root and the few operations the pipeline needs on it."""

    def __init__(self, root: str | Path):
        root = str(root)
        self.fs, path = fsspec.core.url_to_fs(root)
        self.protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.root = path.rstrip("/") or "/"
        self.is_local = self.protocol in ("file", "local")

    def __repr__(self) -> str:
        return f"Storage({self.uri()!r})"

    # -- addressing ---------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, *parts: str) -> str:
        """Full URI of a location (used for Airflow Assets and DuckDB)."""
        path = self.path(*parts)
        return f"file://{path}" if self.is_local else f"{self.protocol}://{path}"

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.root)

    # -- reading ------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def glob(self, pattern: str) -> list[str]:
        return sorted(self.fs.glob(self.path(pattern)))

    def read_bytes(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def read_json(self, path: str) -> dict:
        return json.loads(self.read_bytes(path))

    def read_parquet(self, path: str, filters=None, columns: list[str] | None = None) -> pa.Table:
        """A Parquet file as a table (optionally filtered / some columns).

        Local files are read by path. pyarrow 26 reading through a Python file object with its thread
        pool can abort the interpreter at exit ("terminate called without an active exception"), so
        other filesystems read through the handle single-threaded."""
        if self.is_local:
            return pq.read_table(path, filters=filters, columns=columns)
        with self.fs.open(path, "rb") as handle:
            return pq.read_table(handle, filters=filters, columns=columns, use_threads=False)

    def parquet_rows(self, path: str) -> int:
        if self.is_local:
            return pq.read_metadata(path).num_rows
        with self.fs.open(path, "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows

    def read_parquet_metadata(self, path: str) -> dict[str, str]:
        if self.is_local:
            meta = pq.read_schema(path).metadata or {}
        else:
            with self.fs.open(path, "rb") as handle:
                meta = pq.read_schema(handle).metadata or {}
        return {k.decode(): v.decode() for k, v in meta.items()}

    def read_jsonl_gz(self, path: str) -> Iterator[dict]:
        data = gzip.decompress(self.read_bytes(path))
        for line in data.decode("utf-8").splitlines():
            if line:
                yield json.loads(line)

    # -- writing (always atomic) ------------------------------------------------------------------
    def write_bytes(self, path: str, data: bytes) -> str:
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        if not self.is_local:
            # Object stores publish a key only when its upload completes: already atomic.
            self.fs.pipe_file(path, data)
            return path
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm_file(tmp)
        return path

    def write_json(self, path: str, value: object) -> str:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        return self.write_bytes(path, (text + "\n").encode("utf-8"))

    def write_parquet(self, path: str, table: pa.Table) -> str:
        return self.write_bytes(path, parquet_bytes(table))

    def write_jsonl_gz(self, path: str, records: Iterable[dict]) -> str:
        lines = "".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) + "\n" for r in records
        )
        # mtime=0 keeps the bytes identical for identical content (idempotent reruns).
        return self.write_bytes(path, gzip.compress(lines.encode("utf-8"), mtime=0))

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    # -- layer helpers ------------------------------------------------------------------------------
    def posts_partition(self, day: str, source: str) -> str:
        return self.path(POSTS, f"date={day}", f"source={source}", "posts.parquet")

    def enriched_partition(self, day: str) -> str:
        return self.path(ENRICHED, f"date={day}", "enriched.parquet")

    def mart_path(self, name: str) -> str:
        return self.path(MARTS, name, "data.parquet")

    def quarantine_path(self, stage: str, source: str, batch_id: str) -> str:
        return self.path(QUARANTINE, f"stage={stage}", f"source={source}", f"{batch_id}.parquet")

    def raw_batch_path(self, source: str, day: str, batch_id: str) -> str:
        return self.path(RAW, f"source={source}", f"date={day}", f"{batch_id}.jsonl.gz")

    def find_raw_batch(self, source: str, batch_id: str) -> str | None:
        hits = self.glob(f"{RAW}/source={source}/date=*/{batch_id}.jsonl.gz")
        return hits[0] if hits else None

    def parquet_glob(self, layer: str) -> str:
        """A glob DuckDB can read for a whole layer."""
        return (
            self.uri(layer, "**", "*.parquet") if not self.is_local else self.path(layer, "**", "*.parquet")
        )


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as Parquet (zstd), the one format every layer writes."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def partition_value(path: str, key: str) -> str:
    """The value of ``key=`` in a hive-style partitioned path."""
    for part in path.split("/"):
        if part.startswith(f"{key}="):
            return part[len(key) + 1 :]
    raise ValueError(f"no {key}= in {path}")

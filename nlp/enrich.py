"""posts -> enriched_posts, one date partition at a time, only where something changed.

Each enriched partition records a fingerprint of what it was built from (the posts files of that
day, the NLP version, the brand and language config). ``enrich_pending`` rebuilds exactly the
partitions whose fingerprint changed: a rerun with nothing new does nothing, a new day touches one
partition, a changed brand alias re-links everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from functools import cache
from pathlib import Path

import pyarrow as pa

from nlp.credibility import credibility
from nlp.heads import heads_path
from nlp.parallel import label_parallel, worker_count
from nlp.themes import build_themes
from pipelines.contracts import conform
from pipelines.posts import posts_partitions
from pipelines.project import Project
from pipelines.storage import ENRICHED, Storage, partition_value
from pipelines.validation import validate
from schemas.config import ProjectConfig
from schemas.tables import ENRICHED_POSTS, POSTS

log = logging.getLogger(__name__)

NLP_VERSION = "0.2.0"
INSIGHT_COLUMNS = (
    "brand_sentiments", "sentiment_label", "sentiment_score", "sentiment_confidence", "emotion", "formality",
    "sarcasm", "sarcasm_confidence", "intents", "switch_from", "switch_to", "pain_points", "motives",
    "label_evidence", "text_truncated",
)  # fmt: skip


def nlp_version(config) -> str:
    """Version of the code, the mode and the trained heads that label a row."""
    heads = heads_path(config.nlp.mode)
    digest = _file_digest(heads, heads.stat().st_mtime_ns) if heads.is_file() else "none"
    return f"{NLP_VERSION}+{config.nlp.mode}.{digest}"


@cache
def _file_digest(path: Path, mtime_ns: int) -> str:
    """Short hash of a file, computed once per version of it (the fingerprint asks per partition)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


FINGERPRINT_KEY = "listening.source_fingerprint"
# Posts per encoder call: the encoder sorts a call's posts by length before batching them, so larger
# calls pad less (measured 180 against 146-163 posts/s at 256 on 2 cores), and language id scores them in
# one parallel call. 2048 against 1024: 320-333 against 302-320 posts/s (default mode, one process,
# alternating) for about 45 MB more token vectors per call; two calls are in flight (nlp/pipeline.py).
BATCH_SIZE = 2048


def _fingerprint(storage: Storage, paths: list[str], project: Project) -> str:
    digest = hashlib.sha256()
    digest.update(nlp_version(project.config).encode())
    digest.update(json.dumps([b.model_dump() for b in project.config.brands], sort_keys=True).encode())
    digest.update(project.config.nlp.model_dump_json().encode())
    digest.update(json.dumps(sorted(project.config.languages)).encode())
    for path in sorted(paths):
        digest.update(storage.relative(path).encode())
        digest.update(hashlib.sha256(storage.read_bytes(path)).digest())
    return digest.hexdigest()


def pending_dates(project: Project) -> dict[str, str]:
    """Dates whose enriched partition is missing or stale -> their new fingerprint."""
    storage = project.storage
    pending = {}
    for day, paths in sorted(posts_partitions(storage).items()):
        fingerprint = _fingerprint(storage, paths, project)
        target = storage.enriched_partition(day)
        if (
            storage.exists(target)
            and storage.read_parquet_metadata(target).get(FINGERPRINT_KEY) == fingerprint
        ):
            continue
        pending[day] = fingerprint
    return pending


def nlp_columns(docs, author_brands: list[str | None]) -> dict[str, list]:
    """The enriched_posts NLP columns from processed docs (brand ids include the author's own brand)."""
    out: dict[str, list] = {name: [] for name in ("language", "language_confidence", "brands",
                                                  "brand_mentions", *INSIGHT_COLUMNS)}  # fmt: skip
    for doc, author_brand in zip(docs, author_brands, strict=True):
        ext = doc._  # every ``doc._`` builds a new accessor object
        ids = list(ext.brands)
        found = list(ext.brand_mentions)
        if author_brand and author_brand not in ids:
            # A brand's own account speaks about that brand even without naming it.
            ids.insert(0, author_brand)
            found.insert(0, {"brand_id": author_brand, "matched": None, "start": None, "end": None,
                             "kind": "author"})  # fmt: skip
        out["language"].append(ext.language)
        out["language_confidence"].append(ext.language_confidence)
        out["brands"].append(ids)
        out["brand_mentions"].append(found)
        row = ext.insights or {}
        for name in INSIGHT_COLUMNS:
            out[name].append(row.get(name))
    return out


def process(texts: list[str], declared: list[str | None], author_brands: list[str | None], nlp,
            batch_size: int = BATCH_SIZE):  # fmt: skip
    """Run the spaCy pipeline over texts (streamed in batches), yielding docs in order."""

    def docs():
        for text, lang, author_brand in zip(texts, declared, author_brands, strict=True):
            doc = nlp.make_doc(text or "")
            ext = doc._
            ext.declared_language = lang
            ext.author_brand = author_brand
            yield doc

    return nlp.pipe(docs(), batch_size=batch_size)


def label_texts(config: ProjectConfig, base: Path, texts: list[str], declared: list[str | None],
                author_brands: list[str | None], workers: int = 1) -> dict[str, list]:  # fmt: skip
    """The NLP columns of ``texts``: in this process, or in ``workers`` processes (see nlp.parallel)."""
    if workers > 1 and texts:
        return label_parallel(config, base, config.nlp.mode, workers, texts, declared, author_brands)
    from nlp.pipeline import pipeline  # here, not at the top: a parent of workers never loads spaCy

    return nlp_columns(process(texts, declared, author_brands, pipeline(config, base)), author_brands)


def enrich_table(posts: pa.Table, project: Project, enriched_at: dt.datetime, workers: int = 1) -> pa.Table:
    """Add the NLP columns to a posts table (any number of rows)."""
    brand_of_author = posts.column("brand_account_of").to_pylist()
    added = label_texts(project.config, project.base_dir, posts.column("text").to_pylist(),
                        posts.column("source_language").to_pylist(), brand_of_author, workers)  # fmt: skip
    added["credibility_flags"], added["is_likely_bot"] = credibility(posts)
    n = posts.num_rows
    added["text_truncated"] = [bool(x) for x in added["text_truncated"]]
    added["nlp_version"] = [nlp_version(project.config)] * n
    added["enriched_at"] = [enriched_at] * n
    table = posts
    schema = ENRICHED_POSTS.with_metadata()
    for name in ENRICHED_POSTS.schema.names:
        if name in added:
            table = table.append_column(
                schema.field(name), pa.array(added[name], type=schema.field(name).type)
            )
    return conform(table, ENRICHED_POSTS)


def enrich_pending(project: Project) -> dict:
    """Enrich every stale date partition; validate; write atomically. Returns what was done."""
    storage = project.storage
    pending = pending_dates(project)
    if not pending:
        log.info("enriched layer is up to date")
        return {"dates": [], "rows": 0}
    started = time.perf_counter()
    partitions = posts_partitions(storage)
    enriched_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    tables: dict[str, pa.Table] = {}
    pending_rows = sum(storage.parquet_rows(p) for day in pending for p in partitions[day])
    workers = worker_count(project.config, pending_rows)
    for day in pending:
        posts = pa.concat_tables([conform(storage.read_parquet(p), POSTS) for p in partitions[day]])
        tables[day] = enrich_table(posts.sort_by("post_id"), project, enriched_at, workers)
    validate(
        pa.concat_tables(list(tables.values())), ENRICHED_POSTS, label=f"{len(tables)} enriched partitions"
    )
    for day, table in tables.items():
        meta = dict(table.schema.metadata or {})
        meta[FINGERPRINT_KEY.encode()] = pending[day].encode()
        storage.write_parquet(storage.enriched_partition(day), table.replace_schema_metadata(meta))
    # Partitions whose posts disappeared (e.g. storage cleaned by hand) must not linger.
    for path in storage.glob(f"{ENRICHED}/date=*/enriched.parquet"):
        if partition_value(path, "date") not in partitions:
            storage.remove(path)
    themes = build_themes(project)
    rows = sum(t.num_rows for t in tables.values())
    elapsed = time.perf_counter() - started
    log.info("enriched %d rows in %d partitions in %.1f s", rows, len(tables), elapsed)
    return {"dates": sorted(tables), "rows": rows, "themes": themes["themes"], "seconds": round(elapsed, 2)}

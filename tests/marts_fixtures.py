"""Small hand-built enriched layers for the mart tests (no NLP models needed)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa

from pipelines.contracts import conform
from schemas.tables import ENRICHED_POSTS

UTC = dt.UTC


def pid(name: str) -> str:
    return "p_" + hashlib.sha256(name.encode()).hexdigest()[:20]


def aid(name: str) -> str:
    return "a_" + hashlib.sha256(name.encode()).hexdigest()[:16]


def post(
    name: str,
    at: str,
    brands: list[str],
    *,
    sentiment: str = "neutral",
    intents: list[str] | None = None,
    pains: list[str] | None = None,
    motives: list[str] | None = None,
    author: str | None = "someone",
    brand_account: str | None = None,
    reply_to: str | None = None,
    source: str = "mastodon",
    language: str = "en",
    emotion: str = "none",
    formality: str = "neutral",
    bot: bool = False,
    switch_from: list[str] | None = None,
    switch_to: list[str] | None = None,
    brand_sentiments: list[dict] | None = None,
    followers: int | None = None,
    likes: int = 0,
    deleted: bool = False,
) -> dict:
    """One enriched row; ``at`` is an ISO timestamp with offset (stored in UTC)."""
    created = dt.datetime.fromisoformat(at).astimezone(UTC)
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}[sentiment]

    def labels(ids):
        return [{"id": i, "score": 0.9, "evidence": None, "start": None, "end": None} for i in ids or []]

    return {
        "post_id": pid(name), "source": source, "native_id": name, "url": f"https://example.org/{name}",
        "created_at": created, "author_id": aid(author) if author else None, "author_followers": followers,
        "text": f"text of {name}", "reply_to": pid(reply_to) if reply_to else None,
        "is_brand_account": brand_account is not None, "brand_account_of": brand_account,
        "likes": likes, "is_deleted": deleted, "query": "test", "fetched_at": created, "raw_ref": f"test:{name}",
        "language": language, "brands": brands, "brand_mentions": [],
        "brand_sentiments": brand_sentiments, "sentiment_label": sentiment, "sentiment_score": score,
        "sentiment_confidence": 0.9, "emotion": emotion, "formality": formality, "sarcasm": False,
        "intents": intents or [], "switch_from": switch_from or [], "switch_to": switch_to or [],
        "pain_points": labels(pains), "motives": labels(motives), "label_evidence": [],
        "credibility_flags": ["duplicate_text", "new_account"] if bot else [], "is_likely_bot": bot,
        "text_truncated": False, "nlp_version": "test", "enriched_at": created,
    }  # fmt: skip


def write_enriched(project, rows: list[dict]) -> None:
    """Write rows into the enriched layer, one partition per UTC day (replacing those partitions)."""
    by_day: dict[str, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["created_at"].date().isoformat(), []).append(row)
    schema = ENRICHED_POSTS.with_metadata()
    for day, day_rows in by_day.items():
        table = pa.Table.from_pylist(day_rows, schema=schema)
        project.storage.write_parquet(project.storage.enriched_partition(day), conform(table, ENRICHED_POSTS))

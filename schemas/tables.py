"""Data contracts: the one definition of every table the product writes.

Each table is a versioned Arrow schema. Column constraints (allowed values, ranges, uniqueness,
patterns) live in the field metadata so that the row checks in ``pipelines.contracts`` and the
Great Expectations suites in ``pipelines.validation`` are both derived from here, never written twice.
Exported as JSON under ``schemas/tables/`` by ``listening schemas export``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

TABLES_DIR = Path(__file__).with_name("tables")

TS = pa.timestamp("us", tz="UTC")

SENTIMENT_LABELS = ("negative", "neutral", "positive")
EMOTIONS = ("anger", "disappointment", "anxiety", "joy", "gratitude", "surprise", "none")
FORMALITY = ("casual", "neutral", "formal")
INTENTS = ("question", "complaint", "praise", "suggestion", "purchase_intent", "churn_intent")
QUARANTINE_STAGES = ("import", "normalise", "contract")
PERIODS = ("day", "week")


def col(
    name: str,
    type_: pa.DataType,
    *,
    nullable: bool = True,
    doc: str = "",
    enum: tuple[str, ...] | None = None,
    min: float | None = None,  # noqa: A002 - mirrors the constraint name
    max: float | None = None,  # noqa: A002
    unique: bool = False,
    pattern: str | None = None,
) -> pa.Field:
    """An Arrow field carrying its documentation and constraints as metadata."""
    constraints = {
        key: value
        for key, value in (("enum", enum), ("min", min), ("max", max), ("pattern", pattern))
        if value is not None
    }
    if unique:
        constraints["unique"] = True
    metadata = {"doc": doc}
    if constraints:
        metadata["constraints"] = json.dumps(constraints, ensure_ascii=False)
    return pa.field(name, type_, nullable=nullable, metadata=metadata)


def constraints_of(field_: pa.Field) -> dict:
    raw = (field_.metadata or {}).get(b"constraints")
    return json.loads(raw) if raw else {}


@dataclass(frozen=True)
class Table:
    """A named, versioned table contract."""

    name: str
    version: int
    doc: str
    schema: pa.Schema
    key: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def with_metadata(self) -> pa.Schema:
        return self.schema.with_metadata({"table": self.name, "version": str(self.version), "doc": self.doc})

    def empty(self) -> pa.Table:
        return self.with_metadata().empty_table()

    def to_json(self) -> dict:
        return {
            "table": self.name,
            "version": self.version,
            "doc": self.doc,
            "key": list(self.key),
            "columns": [
                {
                    "name": f.name,
                    "type": str(f.type),
                    "nullable": f.nullable,
                    "doc": (f.metadata or {}).get(b"doc", b"").decode(),
                    **({"constraints": constraints_of(f)} if constraints_of(f) else {}),
                }
                for f in self.schema
            ],
        }


RAW_ENVELOPE = Table(
    name="raw_envelope",
    version=1,
    doc="One record as received from a source, landed before any normalisation (gzip JSONL, immutable).",
    key=("source", "batch_id", "record_index"),
    schema=pa.schema(
        [
            col("source", pa.string(), nullable=False, doc="Source id from the config."),
            col("native_id", pa.string(), doc="The source's own id for the record, when it has one."),
            col("fetched_at", TS, nullable=False, doc="When the record was fetched or imported (UTC)."),
            col("query", pa.string(), nullable=False, doc="The query, feed or file that returned it."),
            col("batch_id", pa.string(), nullable=False, doc="Id of the landed raw batch (file)."),
            col("record_index", pa.int64(), nullable=False, min=0, doc="Position in the batch."),
            col("origin", pa.string(), doc="Where in the input it came from (e.g. 'file.csv:17')."),
            col("payload", pa.string(), nullable=False, doc="The record exactly as received (JSON)."),
        ]
    ),
)

_POST_COLUMNS = [
    col("post_id", pa.string(), nullable=False, unique=True, pattern=r"^p_[0-9a-f]{20}$",
        doc="Stable id derived from (source, native_id)."),
    col("source", pa.string(), nullable=False, pattern=r"^[a-z][a-z0-9_]*$", doc="Source id."),
    col("native_id", pa.string(), nullable=False, doc="The source's own id."),
    col("url", pa.string(), doc="Link to the original post."),
    col("created_at", TS, nullable=False, doc="When the post was published (UTC)."),
    col("author_id", pa.string(), pattern=r"^a_[0-9a-f]{16}$",
        doc="Pseudonym of the author (keyed hash); never the real handle."),
    col("author_followers", pa.int64(), min=0, doc="Followers of the author, when the source gives it."),
    col("author_following", pa.int64(), min=0, doc="Accounts the author follows."),
    col("author_post_count", pa.int64(), min=0, doc="Posts the author has published."),
    col("author_created_at", TS, doc="When the author's account was created (account age)."),
    col("author_bio_length", pa.int32(), min=0, doc="Length of the author's bio in characters."),
    col("author_verified", pa.bool_(), doc="Whether the source marks the author as verified."),
    col("title", pa.string(), doc="Title (news items, reviews)."),
    col("text", pa.string(), nullable=False, doc="Post text, as written."),
    col("source_language", pa.string(), doc="Language the source declares, if any."),
    col("reply_to", pa.string(), doc="post_id of the post this one replies to."),
    col("is_brand_account", pa.bool_(), nullable=False, doc="Posted by one of the configured brand accounts."),
    col("brand_account_of", pa.string(), doc="Brand id whose account posted it."),
    col("rating", pa.float64(), min=0, max=5, doc="Star rating (reviews)."),
    col("likes", pa.int64(), min=0, doc="Likes / favourites / upvotes."),
    col("reposts", pa.int64(), min=0, doc="Reposts / boosts / shares."),
    col("replies", pa.int64(), min=0, doc="Reply count."),
    col("views", pa.int64(), min=0, doc="Views."),
    col("edited_at", TS, doc="Last edit the source reported."),
    col("is_deleted", pa.bool_(), nullable=False, doc="The source reported the post deleted."),
    col("query", pa.string(), nullable=False, doc="Query, feed or file that found it."),
    col("fetched_at", TS, nullable=False, doc="When it was fetched (UTC)."),
    col("raw_ref", pa.string(), nullable=False, doc="Raw batch and record index it was normalised from."),
]  # fmt: skip

POSTS = Table(
    name="posts",
    version=1,
    doc="Normalised posts, deduplicated on (source, native_id); partitioned by created date and source.",
    key=("source", "native_id"),
    schema=pa.schema(_POST_COLUMNS),
)

BRAND_MENTION = pa.struct(
    [
        pa.field("brand_id", pa.string()),
        pa.field("matched", pa.string()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("kind", pa.string()),
    ]
)
LABEL_WITH_EVIDENCE = pa.struct(
    [
        pa.field("id", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("evidence", pa.string()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
    ]
)
LABEL_EVIDENCE = pa.struct(
    [
        pa.field("task", pa.string()),
        pa.field("label", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("evidence", pa.string()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
    ]
)
BRAND_SENTIMENT = pa.struct(
    [
        pa.field("brand_id", pa.string()),
        pa.field("sentiment_label", pa.string()),
        pa.field("sentiment_score", pa.float32()),
    ]
)

ENRICHED_POSTS = Table(
    name="enriched_posts",
    version=1,
    doc="Posts plus NLP columns; partitioned by created date. Columns an NLP stage has not filled are null.",
    key=("post_id",),
    schema=pa.schema(
        _POST_COLUMNS
        + [
            col("language", pa.string(), nullable=False, pattern=r"^(?:[a-z]{2}|und)$",
                doc="Detected language, ISO 639-1, or 'und' when it cannot be told."),
            col("language_confidence", pa.float32(), min=0, max=1, doc="Confidence of the language."),
            col("brands", pa.list_(pa.string()), nullable=False, doc="Brand ids the post is about."),
            col("brand_mentions", pa.list_(BRAND_MENTION), nullable=False,
                doc="Evidence: each brand mention with its span and how it matched."),
            col("brand_sentiments", pa.list_(BRAND_SENTIMENT), doc="Opinion per brand in comparisons."),
            col("sentiment_label", pa.string(), enum=SENTIMENT_LABELS, doc="Overall sentiment."),
            col("sentiment_score", pa.float32(), min=-1, max=1, doc="Sentiment in [-1, 1]."),
            col("sentiment_confidence", pa.float32(), min=0, max=1, doc="Confidence of the sentiment."),
            col("emotion", pa.string(), enum=EMOTIONS, doc="Dominant emotion."),
            col("formality", pa.string(), enum=FORMALITY, doc="Register of the text."),
            col("sarcasm", pa.bool_(), doc="Best-effort sarcasm flag."),
            col("sarcasm_confidence", pa.float32(), min=0, max=1, doc="Confidence of the sarcasm flag."),
            col("intents", pa.list_(pa.string()), doc="Intents (multi-label)."),
            col("switch_from", pa.list_(pa.string()), doc="Brands a churn post is leaving."),
            col("switch_to", pa.list_(pa.string()), doc="Brands a churn post is moving to."),
            col("pain_points", pa.list_(LABEL_WITH_EVIDENCE), doc="Pain points with evidence and score."),
            col("motives", pa.list_(LABEL_WITH_EVIDENCE), doc="Consumer motives with evidence and score."),
            col("label_evidence", pa.list_(LABEL_EVIDENCE),
                doc="Why each tone and intent label was given: the words that carry it (span in text) and score."),
            col("credibility_flags", pa.list_(pa.string()), doc="Reasons the author looks like a bot/spam."),
            col("is_likely_bot", pa.bool_(), nullable=False, doc="Author flagged as likely bot/spam."),
            col("text_truncated", pa.bool_(), nullable=False, doc="Text was cut for the models."),
            col("nlp_version", pa.string(), nullable=False, doc="Version of the NLP that produced the row."),
            col("enriched_at", TS, nullable=False, doc="When the row was enriched."),
        ]
    ),
)  # fmt: skip

THEMES = Table(
    name="themes",
    version=1,
    doc="Emerging complaint themes per ISO week (clusters of audience complaints), linked across weeks.",
    key=("period_start", "theme_id"),
    schema=pa.schema(
        [
            col("period_start", pa.date32(), nullable=False, doc="Monday of the ISO week (project timezone)."),
            col("theme_id", pa.string(), nullable=False, doc="Id of the theme in that week."),
            col("label", pa.string(), nullable=False, doc="Readable label (its top key phrases)."),
            col("key_phrases", pa.list_(pa.string()), nullable=False, doc="Words particular to the theme."),
            col("representative_post_id", pa.string(), nullable=False, doc="Post nearest the theme's centre."),
            col("representative_quote", pa.string(), nullable=False, doc="Text of that post."),
            col("posts", pa.int64(), nullable=False, min=1, doc="Complaints in the theme."),
            col("post_ids", pa.list_(pa.string()), nullable=False, doc="The complaints (evidence)."),
            col("languages", pa.list_(pa.string()), nullable=False, doc="Languages of those posts."),
            col("brands", pa.list_(pa.string()), nullable=False, doc="Brands those posts are about."),
            col("pain_point", pa.string(), doc="Taxonomy category most of its posts carry, if any."),
            col("novel", pa.bool_(), nullable=False, doc="No taxonomy category covers it: a new kind of complaint."),
            col("first_seen", pa.date32(), nullable=False, doc="First week a matching theme appeared."),
            col("growth", pa.float64(), doc="Size change against the matching theme of the previous week."),
        ]
    ),
)  # fmt: skip

QUARANTINE = Table(
    name="quarantine",
    version=1,
    doc="Records that could not be imported, normalised or did not meet a contract, with the reason.",
    key=("stage", "source", "batch_id", "record_index"),
    schema=pa.schema(
        [
            col("stage", pa.string(), nullable=False, enum=QUARANTINE_STAGES, doc="Step that rejected it."),
            col("source", pa.string(), nullable=False, doc="Source id."),
            col("batch_id", pa.string(), nullable=False, doc="Input batch (raw batch or import)."),
            col("record_index", pa.int64(), nullable=False, min=0, doc="Position in the input."),
            col("origin", pa.string(), doc="File and line/row, or raw reference."),
            col("reason", pa.string(), nullable=False, doc="Why it was rejected, naming the field."),
            col("record", pa.string(), nullable=False, doc="The record as received (JSON or escaped text)."),
            col("quarantined_at", TS, nullable=False, doc="When it was quarantined."),
        ]
    ),
)

_PERIOD_COLUMNS = [
    col("period", pa.string(), nullable=False, enum=PERIODS, doc="'day' or 'week' (ISO week, Monday start)."),
    col("period_start", pa.date32(), nullable=False, doc="First day of the period (project timezone)."),
    col("brand_id", pa.string(), nullable=False, doc="Brand id."),
]

MART_BRAND_VOLUME = Table(
    name="mart_brand_volume",
    version=1,
    doc="Audience mentions per brand, period, source and language (the grain every filter sums over).",
    key=("period", "period_start", "brand_id", "source", "language"),
    schema=pa.schema(
        _PERIOD_COLUMNS
        + [
            col("source", pa.string(), nullable=False, doc="Source id."),
            col("language", pa.string(), nullable=False, doc="Detected language."),
            col("mentions", pa.int64(), nullable=False, min=0, doc="Audience posts mentioning the brand."),
            col("evidence", pa.string(), nullable=False, doc="Filter that selects the posts behind the row (JSON)."),
        ]
    ),
)  # fmt: skip

MART_SHARE_OF_VOICE = Table(
    name="mart_share_of_voice",
    version=1,
    doc="Share of voice per brand and period, with the change against the previous period.",
    key=("period", "period_start", "brand_id"),
    schema=pa.schema(
        _PERIOD_COLUMNS
        + [
            col("mentions", pa.int64(), nullable=False, min=0, doc="Audience posts mentioning the brand."),
            col("total_mentions", pa.int64(), nullable=False, min=0, doc="Mentions of all brands in the period."),
            col("share_of_voice", pa.float64(), nullable=False, min=0, max=1, doc="mentions / total_mentions."),
            col("mentions_prev", pa.int64(), min=0, doc="Mentions in the previous period."),
            col("share_of_voice_prev", pa.float64(), min=0, max=1, doc="Share in the previous period."),
            col("share_change_pts", pa.float64(), min=-100, max=100,
                doc="Change of share against the previous period, in percentage points."),
            col("evidence", pa.string(), nullable=False, doc="Filter that selects the posts behind the row (JSON)."),
        ]
    ),
)  # fmt: skip

TABLES: dict[str, Table] = {
    t.name: t
    for t in (RAW_ENVELOPE, POSTS, ENRICHED_POSTS, THEMES, QUARANTINE, MART_BRAND_VOLUME, MART_SHARE_OF_VOICE)
}
MARTS: dict[str, Table] = {name: t for name, t in TABLES.items() if name.startswith("mart_")}


def export_tables(directory: Path = TABLES_DIR) -> list[Path]:
    """Write every contract as JSON (the human- and tool-readable form of this module)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES.values():
        path = directory / f"{table.name}.v{table.version}.json"
        path.write_text(json.dumps(table.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths

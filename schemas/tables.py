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
ALL = "*"
# Marts are filterable by source and language: '*' rows hold the total over all of them.
_SLICE_COLUMNS = [
    col("source", pa.string(), nullable=False, doc="Source id, or '*' for all sources."),
    col("language", pa.string(), nullable=False, doc="Detected language, or '*' for all languages."),
]
_DIMS = _PERIOD_COLUMNS + _SLICE_COLUMNS
_DIM_KEY = ("period", "period_start", "brand_id", "source", "language")
_EVIDENCE = col(
    "evidence",
    pa.string(),
    nullable=False,
    doc="Filter that selects the posts behind the row (JSON, see pipelines.marts.evidence_posts).",
)


def _count(name: str, doc: str) -> pa.Field:
    return col(name, pa.int64(), nullable=False, min=0, doc=doc)


def _share(name: str, doc: str, nullable: bool = True) -> pa.Field:
    return col(name, pa.float64(), nullable=nullable, min=0, max=1, doc=doc)


def _mart(name: str, doc: str, columns: list[pa.Field], key: tuple[str, ...], version: int = 1) -> Table:
    return Table(name=name, version=version, doc=doc, key=key, schema=pa.schema(columns))


def _rate_columns() -> list[pa.Field]:
    return [
        _count("posts", "Brand mentions carrying the category."),
        _count("mentions", "Brand mentions in the period (the denominator)."),
        col("rate_per_1000", pa.float64(), min=0, max=1000, doc="posts per 1,000 mentions."),
    ]


def _test_columns(competitor: str) -> list[pa.Field]:
    """The brand's rate against ``competitor``'s: the gap, its CI and the significance test."""
    per_1000 = {"min": -1000, "max": 1000}
    return [
        _count("competitor_posts", f"Mentions of {competitor} carrying the category."),
        _count("competitor_mentions", f"Mentions of {competitor}."),
        col(
            "competitor_rate", pa.float64(), min=0, max=1000, doc=f"Rate per 1,000 mentions of {competitor}."
        ),
        col("gap", pa.float64(), **per_1000, doc="rate_per_1000 - competitor_rate."),
        col("gap_ci_low", pa.float64(), **per_1000, doc="95% CI of the gap, lower (Newcombe hybrid score)."),
        col("gap_ci_high", pa.float64(), **per_1000, doc="95% CI of the gap, upper."),
        _share("p_value", "Two-sided two-proportion z-test (pooled) of brand vs competitor rate."),
        _share("q_value", "Benjamini-Hochberg adjusted p-value within its family (docs/metrics.md)."),
        col("significant", pa.bool_(), nullable=False, doc="q_value < 0.05."),
    ]


def _comparison_columns() -> list[pa.Field]:
    """Columns of a category per brand: rate, change, and the gap to the pooled competitor average."""
    return (
        _rate_columns()
        + [
            col(
                "posts_prev",
                pa.int64(),
                min=0,
                doc="posts in the previous period (null before the data starts).",
            ),
            col("rate_prev", pa.float64(), min=0, max=1000, doc="rate_per_1000 in the previous period."),
            col("rate_change", pa.float64(), min=-1000, max=1000, doc="rate_per_1000 minus rate_prev."),
        ]
        + _test_columns("all other configured brands (pooled)")
    )


MART_BRAND_VOLUME = _mart(
    "mart_brand_volume",
    "Audience mentions per brand, period, source and language (the grain every filter sums over).",
    _PERIOD_COLUMNS
    + [
        col("source", pa.string(), nullable=False, doc="Source id."),
        col("language", pa.string(), nullable=False, doc="Detected language."),
        _count("mentions", "Audience posts mentioning the brand."),
        _EVIDENCE,
    ],
    _DIM_KEY,
)

MART_BRAND_KPIS = _mart(
    "mart_brand_kpis",
    "Volume, share of voice, net sentiment and sentiment mix per brand and period, with the change "
    "against the previous period.",
    _DIMS
    + [
        _count("mentions", "Audience posts mentioning the brand."),
        _count("total_mentions", "Mentions of all configured brands in the period and slice."),
        _share("share_of_voice", "mentions / total_mentions.", nullable=False),
        _count("positive", "Mentions whose opinion of the brand is positive."),
        _count("neutral", "Mentions whose opinion of the brand is neutral."),
        _count("negative", "Mentions whose opinion of the brand is negative."),
        col("net_sentiment", pa.float64(), min=-100, max=100, doc="100 * (positive - negative) / mentions."),
        _share("positive_share", "positive / mentions."),
        _share("neutral_share", "neutral / mentions."),
        _share("negative_share", "negative / mentions."),
        col(
            "mentions_prev",
            pa.int64(),
            min=0,
            doc="Mentions in the previous period (null before the data starts).",
        ),
        col("mentions_change_pct", pa.float64(), doc="100 * (mentions - mentions_prev) / mentions_prev."),
        _share("share_of_voice_prev", "Share of voice in the previous period."),
        col("share_change_pts", pa.float64(), min=-100, max=100, doc="Share change, percentage points."),
        col(
            "net_sentiment_prev", pa.float64(), min=-100, max=100, doc="Net sentiment in the previous period."
        ),
        col(
            "net_sentiment_change", pa.float64(), min=-200, max=200, doc="net_sentiment - net_sentiment_prev."
        ),
        _share("negative_share_prev", "Negative share in the previous period."),
        col(
            "negative_share_change_pts", pa.float64(), min=-100, max=100, doc="Negative share change, points."
        ),
        _share("negative_change_p", "Two-proportion z-test p-value of the negative-share change."),
        _EVIDENCE,
    ],
    _DIM_KEY,
)

MART_PAIN_POINTS = _mart(
    "mart_pain_points",
    "Pain-point mentions and rate per 1,000 brand mentions, change, and the gap against the pooled "
    "competitor average with a significance test.",
    _DIMS
    + [col("pain_point", pa.string(), nullable=False, doc="Pain-point id (taxonomy or config).")]
    + _comparison_columns()
    + [_EVIDENCE],
    _DIM_KEY + ("pain_point",),
)

MART_PAIN_POINT_GAPS = _mart(
    "mart_pain_point_gaps",
    "Pain-point rate of each brand against each competitor (ISO weeks), with a significance test.",
    [c for c in _DIMS if c.name != "period"]
    + [
        col("competitor_id", pa.string(), nullable=False, doc="The competitor compared with."),
        col("pain_point", pa.string(), nullable=False, doc="Pain-point id."),
    ]
    + _rate_columns()
    + _test_columns("the competitor")
    + [_EVIDENCE],
    ("period_start", "brand_id", "source", "language", "competitor_id", "pain_point"),
)

MART_MOTIVES = _mart(
    "mart_motives",
    "Why the audience engages with each brand (consumer motives), against the competitor average.",
    _DIMS
    + [col("motive", pa.string(), nullable=False, doc="Motive id.")]
    + _comparison_columns()
    + [_share("mix", "Share of the brand's motive labels that are this motive."), _EVIDENCE],
    _DIM_KEY + ("motive",),
)

MART_MOTIVE_GAP = _mart(
    "mart_motive_gap",
    "What the audience comes for (audience motives) against what the brand's own posts offer.",
    _DIMS
    + [
        col("motive", pa.string(), nullable=False, doc="Motive id."),
        _count("audience_posts", "Audience mentions of the brand carrying the motive."),
        _share("audience_mix", "Share of the audience's motive labels that are this motive."),
        _count("brand_posts", "The brand's own posts carrying the motive."),
        _share("brand_mix", "Share of the brand's own motive labels that are this motive."),
        col(
            "gap_pts", pa.float64(), min=-100, max=100, doc="100 * (brand_mix - audience_mix): + offers more."
        ),
        _EVIDENCE,
    ],
    _DIM_KEY + ("motive",),
)

MART_AUDIENCE_TONE = _mart(
    "mart_audience_tone",
    "Emotion and formality profile of the audience per brand.",
    _DIMS
    + [
        col("dimension", pa.string(), nullable=False, enum=("emotion", "formality"), doc="Which profile."),
        col(
            "label", pa.string(), nullable=False, enum=EMOTIONS + FORMALITY, doc="Emotion or formality label."
        ),
        _count("posts", "Mentions with the label."),
        _count("mentions", "Mentions of the brand."),
        _share("share", "posts / mentions."),
        _EVIDENCE,
    ],
    _DIM_KEY + ("dimension", "label"),
)

MART_BRAND_VOICE = _mart(
    "mart_brand_voice",
    "Tone of each brand's own account per ISO week and its consistency over the last 8 weeks.",
    _PERIOD_COLUMNS
    + [
        _count("posts", "Posts by the brand's own accounts."),
        col("mean_sentiment", pa.float64(), min=-1, max=1, doc="Mean sentiment score of those posts."),
        col(
            "mean_formality",
            pa.float64(),
            min=-1,
            max=1,
            doc="Mean formality (casual -1, neutral 0, formal 1).",
        ),
        _share("formal_share", "Share of formal posts."),
        _share("casual_share", "Share of casual posts."),
        col(
            "weeks_in_window",
            pa.int64(),
            nullable=False,
            min=1,
            max=8,
            doc="Weeks with posts among this and the 7 before.",
        ),
        col(
            "sentiment_variation",
            pa.float64(),
            min=0,
            doc="Std. dev. of weekly mean sentiment in the window.",
        ),
        col(
            "formality_variation",
            pa.float64(),
            min=0,
            doc="Std. dev. of weekly mean formality in the window.",
        ),
        _EVIDENCE,
    ],
    ("period", "period_start", "brand_id"),
)

MART_INTENTS = _mart(
    "mart_intents",
    "Questions, complaints, praise, ideas, purchase and churn intent per brand.",
    _DIMS
    + [
        col("intent", pa.string(), nullable=False, enum=INTENTS, doc="Intent."),
        _count("posts", "Mentions with the intent."),
        _count("mentions", "Mentions of the brand."),
        col("rate_per_1000", pa.float64(), min=0, max=1000, doc="posts per 1,000 mentions."),
        col("posts_prev", pa.int64(), min=0, doc="posts in the previous period."),
        col("rate_change", pa.float64(), min=-1000, max=1000, doc="Change of rate_per_1000."),
        _EVIDENCE,
    ],
    _DIM_KEY + ("intent",),
)

MART_SWITCHING = _mart(
    "mart_switching",
    "Switching flows from churn posts: posts leaving one brand for another ('unknown' when not named).",
    [c for c in _PERIOD_COLUMNS if c.name != "brand_id"]
    + _SLICE_COLUMNS
    + [
        col("from_brand", pa.string(), nullable=False, doc="Brand being left, or 'unknown'."),
        col("to_brand", pa.string(), nullable=False, doc="Brand moved to, or 'unknown'."),
        _count("posts", "Churn posts naming the flow."),
        _EVIDENCE,
    ],
    ("period", "period_start", "source", "language", "from_brand", "to_brand"),
)

MART_RESPONSIVENESS = _mart(
    "mart_responsiveness",
    "Share of audience questions and complaints the brand's account answered, and time to first reply.",
    _DIMS
    + [
        _count("eligible", "Audience questions and complaints addressing the brand."),
        _count("questions", "Of which questions."),
        _count("complaints", "Of which complaints."),
        _count("answered", "Answered by the brand's account within the response window."),
        _share("response_rate", "answered / eligible."),
        col("median_response_minutes", pa.float64(), min=0, doc="Median time to the first brand reply."),
        col("p90_response_minutes", pa.float64(), min=0, doc="90th percentile of the time to first reply."),
        _EVIDENCE,
    ],
    _DIM_KEY,
)

MART_UNANSWERED = _mart(
    "mart_unanswered",
    "Audience questions and complaints no brand reply answered within the response window (follow-up list).",
    [
        col(
            "period_start", pa.date32(), nullable=False, doc="Day the post was published (project timezone)."
        ),
        col("brand_id", pa.string(), nullable=False, doc="Brand addressed."),
        col("post_id", pa.string(), nullable=False, doc="The post."),
        col("created_at", TS, nullable=False, doc="When it was published (UTC)."),
        col("source", pa.string(), nullable=False, doc="Source id."),
        col("language", pa.string(), nullable=False, doc="Detected language."),
        col(
            "kind",
            pa.string(),
            nullable=False,
            enum=("question", "complaint"),
            doc="Question (or complaint).",
        ),
        col("author_id", pa.string(), doc="Pseudonymised author."),
        col("text", pa.string(), nullable=False, doc="Post text."),
        col("url", pa.string(), doc="Link to the post."),
        _EVIDENCE,
    ],
    ("brand_id", "post_id"),
)

MART_CADENCE = _mart(
    "mart_cadence",
    "Posts by each brand's own accounts (posting cadence).",
    _DIMS
    + [
        _count("posts", "Posts by the brand's accounts."),
        _count("original_posts", "Posts that are not replies."),
        _count("replies", "Replies."),
        _EVIDENCE,
    ],
    _DIM_KEY,
)

MART_AUDIENCE_ACTIVITY = _mart(
    "mart_audience_activity",
    "Audience posts by weekday and hour in the project timezone (when the audience is online).",
    _DIMS
    + [
        col("weekday", pa.int8(), nullable=False, min=1, max=7, doc="ISO weekday, 1 = Monday."),
        col("hour", pa.int8(), nullable=False, min=0, max=23, doc="Hour of day (project timezone)."),
        _count("posts", "Audience mentions of the brand."),
        _EVIDENCE,
    ],
    _DIM_KEY + ("weekday", "hour"),
)

MART_PARTICIPATION = _mart(
    "mart_participation",
    "Share of mentions by the top 1%, next 9% and remaining 90% of authors.",
    _DIMS
    + [
        _count("authors", "Distinct (pseudonymised) authors."),
        _count("posts", "Mentions with a known author."),
        _count("top1_authors", "Authors in the top 1% (at least one)."),
        _share("top1_share", "Share of posts by the top 1%.", nullable=False),
        _count("next9_authors", "Authors in the next 9%."),
        _share("next9_share", "Share of posts by the next 9%.", nullable=False),
        _count("rest90_authors", "The remaining authors."),
        _share("rest90_share", "Share of posts by the remaining 90%.", nullable=False),
        _EVIDENCE,
    ],
    _DIM_KEY,
)

MART_TOP_VOICES = _mart(
    "mart_top_voices",
    "Top advocates and critics per brand by volume and reach (pseudonymised authors).",
    _DIMS
    + [
        col(
            "role", pa.string(), nullable=False, enum=("advocate", "critic"), doc="More positive or negative."
        ),
        col("rank", pa.int64(), nullable=False, min=1, doc="1 = most posts (then reach)."),
        col("author_id", pa.string(), nullable=False, doc="Pseudonymised author."),
        _count("posts", "The author's mentions of the brand."),
        _count("positive", "Positive ones."),
        _count("negative", "Negative ones."),
        col("reach", pa.int64(), min=0, doc="Largest follower count seen for the author."),
        _count("engagement", "Likes + reposts + replies on those posts."),
        col("post_ids", pa.list_(pa.string()), nullable=False, doc="The posts (evidence)."),
        _EVIDENCE,
    ],
    _DIM_KEY + ("role", "rank"),
)

MART_SPIKES = _mart(
    "mart_spikes",
    "Days where a brand's volume or negative share departs from its trailing 28-day baseline.",
    [c for c in _DIMS]
    + [
        col("metric", pa.string(), nullable=False, enum=("volume", "negative_share"), doc="What spiked."),
        col("value", pa.float64(), nullable=False, min=0, doc="The day's mentions or negative share."),
        col("baseline", pa.float64(), nullable=False, min=0, doc="Trailing median mentions or pooled share."),
        col("score", pa.float64(), nullable=False, doc="Robust z-score (volume) or binomial z (share)."),
        _count("mentions", "Mentions that day."),
        col(
            "driver_post_ids",
            pa.list_(pa.string()),
            nullable=False,
            doc="Posts that drove it (most engaged; negative ones for a negative spike).",
        ),
        col(
            "top_pain_points",
            pa.list_(pa.string()),
            nullable=False,
            doc="Most frequent pain points that day.",
        ),
        _EVIDENCE,
    ],
    _DIM_KEY + ("metric",),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        RAW_ENVELOPE, POSTS, ENRICHED_POSTS, THEMES, QUARANTINE, MART_BRAND_VOLUME, MART_BRAND_KPIS,
        MART_PAIN_POINTS, MART_PAIN_POINT_GAPS, MART_MOTIVES, MART_MOTIVE_GAP, MART_AUDIENCE_TONE,
        MART_BRAND_VOICE, MART_INTENTS, MART_SWITCHING, MART_RESPONSIVENESS, MART_UNANSWERED, MART_CADENCE,
        MART_AUDIENCE_ACTIVITY, MART_PARTICIPATION, MART_TOP_VOICES, MART_SPIKES,
    )
}  # fmt: skip
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

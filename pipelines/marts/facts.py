"""The facts every mart is computed from, as DuckDB tables over the enriched layer.

``open_facts`` reads the enriched layer once (only the columns the marts need, only the days asked
for) into three tables:

* ``posts_f``: one row per post that is not deleted, with its local day, ISO week and timestamp in the
  project timezone, label lists flattened to ids, and ``brands`` limited to configured brands;
* views ``audience`` (posts not by brand accounts; likely bots left out unless the project includes
  them, ``marts.include_likely_bots``) and ``brand_posts`` (posts by brand accounts, with ``brand_id``);
* ``mentions``: one row per (audience post, brand it is about); the opinion is the brand's own one in
  a comparison (``brand_sentiments``) and the post's sentiment otherwise;
* views ``pm`` (mentions), ``pp`` (audience posts) and ``pb`` (brand posts), each row once per
  period: day and week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from nlp.taxonomy import load_taxonomy
from pipelines.project import Project
from pipelines.storage import ENRICHED, partition_value

# Grouping sets of the slices every mart is filterable by ('*' where a set leaves the column out).
SLICES = ("(source)", "(language)", "()")
FINE_SLICES = ("(source, language)",) + SLICES
# DuckDB spills to disk beyond this; keeps a full build of 1M posts within 2 GB.
MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class Settings:
    """What a mart build depends on besides the data (part of the incremental state)."""

    timezone: str
    brands: tuple[str, ...]
    own_brand: str
    pain_points: tuple[str, ...]
    motives: tuple[str, ...]
    include_bots: bool
    response_window_days: int
    spike_baseline_days: int
    spike_min_mentions: int
    spike_threshold: float
    top_voices: int

    @classmethod
    def of(cls, project: Project, include_bots: bool | None = None) -> Settings:
        config = project.config
        marts = config.marts
        return cls(
            timezone=config.timezone,
            brands=tuple(b.id for b in config.brands),
            own_brand=config.own_brand.id,
            pain_points=load_taxonomy("pain_points").ids + tuple(c.id for c in config.nlp.extra_pain_points),
            motives=load_taxonomy("motives").ids + tuple(c.id for c in config.nlp.extra_motives),
            include_bots=marts.include_likely_bots if include_bots is None else include_bots,
            response_window_days=marts.response_window_days,
            spike_baseline_days=marts.spike_baseline_days,
            spike_min_mentions=marts.spike_min_mentions,
            spike_threshold=marts.spike_threshold,
            top_voices=marts.top_voices,
        )


@dataclass(frozen=True)
class Facts:
    con: duckdb.DuckDBPyConnection
    settings: Settings
    data_start: dt.date | None  # first local day with any post (whole layer)
    data_end: dt.date | None
    read_start: dt.date | None  # the days loaded (None: all)
    read_end: dt.date | None
    cache: dict = field(default_factory=dict, compare=False, hash=False)  # shared intermediate results

    @property
    def grid_start(self) -> dt.date | None:
        """First day a zero-filled daily series starts at (the same in a full and a partial build)."""
        if self.read_start is None or self.data_start is None:
            return self.data_start
        return max(self.read_start, self.data_start)

    @property
    def grid_end(self) -> dt.date | None:
        if self.read_end is None or self.data_end is None:
            return self.data_end
        return min(self.read_end, self.data_end)


def enriched_source(project: Project, utc_lo: dt.date | None = None, utc_hi: dt.date | None = None) -> str:
    """DuckDB source of the enriched layer; with UTC days, of only those days' partitions.

    Naming the files matters at scale: ``union_by_name`` reads the schema of every file it is given, so
    a drill-down into four weeks of a year of data reads 30 files, not 365."""
    options = "hive_partitioning = true, hive_types = {'date': DATE}, union_by_name = true"
    storage = project.storage
    if utc_lo is not None and utc_hi is not None and storage.is_local:
        paths = [
            p for p in storage.glob(f"{ENRICHED}/date=*/enriched.parquet")
            if utc_lo.isoformat() <= partition_value(p, "date") <= utc_hi.isoformat()
        ]  # fmt: skip
        if paths:
            quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            return f"read_parquet([{quoted}], {options})"
    return f"read_parquet('{storage.parquet_glob(ENRICHED)}', {options})"


def connect(
    project: Project, settings: Settings, utc_lo: dt.date | None = None, utc_hi: dt.date | None = None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False})
    con.execute("SET TimeZone = ?", [settings.timezone])
    con.register("configured_brands", pa.table({"brand_id": list(settings.brands)}))
    con.execute(f"CREATE VIEW enriched AS SELECT * FROM {enriched_source(project, utc_lo, utc_hi)}")
    return con


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last local day of the enriched layer (Parquet statistics make this cheap)."""
    return con.execute(
        "SELECT CAST(MIN(timezone(current_setting('TimeZone'), created_at)) AS DATE), "
        "CAST(MAX(timezone(current_setting('TimeZone'), created_at)) AS DATE) FROM enriched"
    ).fetchall()[0]


def open_facts(
    project: Project,
    settings: Settings,
    read_start: dt.date | None = None,
    read_end: dt.date | None = None,
    prefilter: tuple[str, dict] | None = None,
    bounds: bool = True,
) -> Facts:
    """Load the facts for local days [read_start, read_end] (everything when both are None).

    ``prefilter``: an extra SQL condition on enriched rows (with its parameters) that keeps a superset of
    the posts a caller will select, so a drill-down loads a few posts instead of every post in range.
    ``bounds=False`` skips reading the first and last day of the whole layer (only series need them)."""
    # Without bounds nothing needs the whole layer: read only the partitions the days can fall in.
    narrow = not bounds and read_start is not None and read_end is not None
    con = connect(
        project,
        settings,
        read_start - dt.timedelta(days=1) if narrow else None,
        read_end + dt.timedelta(days=1) if narrow else None,
    )
    data_start, data_end = data_range(con) if bounds else (None, None)
    where = ["NOT is_deleted"]
    params: dict = {"brands": list(settings.brands)}
    if prefilter is not None:
        where.append(f"({prefilter[0]})")
        params.update(prefilter[1])
    if read_start is not None:
        # Partitions are by UTC day; a local day can start on the previous UTC day or end on the next.
        where.append("date >= CAST($utc_lo AS DATE)")
        where.append("CAST(timezone(current_setting('TimeZone'), created_at) AS DATE) >= $lo")
        params.update(utc_lo=(read_start - dt.timedelta(days=1)).isoformat(), lo=read_start)
    if read_end is not None:
        where.append("date <= CAST($utc_hi AS DATE)")
        where.append("CAST(timezone(current_setting('TimeZone'), created_at) AS DATE) <= $hi")
        params.update(utc_hi=(read_end + dt.timedelta(days=1)).isoformat(), hi=read_end)
    con.execute(
        f"""
        CREATE TEMP TABLE posts_f AS
        SELECT post_id, source, language, created_at,
               timezone(current_setting('TimeZone'), created_at) AS local_ts,
               CAST(timezone(current_setting('TimeZone'), created_at) AS DATE) AS day,
               CAST(date_trunc('week', timezone(current_setting('TimeZone'), created_at)) AS DATE) AS week,
               author_id, author_followers AS reach,
               COALESCE(likes, 0) + COALESCE(reposts, 0) + COALESCE(replies, 0) AS engagement,
               is_brand_account, brand_account_of, reply_to, is_likely_bot,
               sentiment_label, sentiment_score, emotion, formality,
               COALESCE(intents, []) AS intents,
               list_distinct(list_filter(COALESCE(switch_from, []), lambda b: list_contains($brands, b)))
                   AS switch_from,
               list_distinct(list_filter(COALESCE(switch_to, []), lambda b: list_contains($brands, b)))
                   AS switch_to,
               list_distinct(list_transform(COALESCE(pain_points, []), lambda p: p.id)) AS pains,
               list_distinct(list_transform(COALESCE(motives, []), lambda m: m.id)) AS motives,
               list_distinct(list_filter(brands, lambda b: list_contains($brands, b))) AS brands,
               brand_sentiments
        FROM enriched
        WHERE {" AND ".join(where)}
        """,
        params,
    )
    bots = "" if settings.include_bots else "AND NOT p.is_likely_bot"
    con.execute(f"CREATE VIEW audience AS SELECT * FROM posts_f p WHERE NOT p.is_brand_account {bots}")
    con.execute(
        "CREATE VIEW brand_posts AS SELECT *, brand_account_of AS brand_id FROM posts_f "
        "WHERE is_brand_account AND brand_account_of IS NOT NULL"
    )
    con.execute(
        """
        CREATE TEMP TABLE mentions AS
        SELECT p.post_id, p.source, p.language, p.created_at, p.local_ts, p.day, p.week, p.author_id,
               p.reach, p.engagement, b.brand_id,
               COALESCE(
                   list_filter(p.brand_sentiments, lambda s: s.brand_id = b.brand_id)[1].sentiment_label,
                   p.sentiment_label) AS sentiment_label,
               p.emotion, p.formality, p.intents, p.pains, p.motives
        FROM audience p, UNNEST(p.brands) AS b(brand_id)
        """
    )
    for view, table in (("pm", "mentions"), ("pp", "audience"), ("pb", "brand_posts")):
        con.execute(
            f"CREATE VIEW {view} AS SELECT 'day' AS period, day AS period_start, * FROM {table} "
            f"UNION ALL SELECT 'week' AS period, week AS period_start, * FROM {table}"
        )
    return Facts(con, settings, data_start, data_end, read_start, read_end)


def grouping(keys: str, sets: tuple[str, ...] = SLICES) -> str:
    """GROUP BY clause over ``keys`` crossed with the slice sets."""
    parts = []
    for s in sets:
        inner = s.strip("()")
        parts.append(f"({keys}{', ' + inner if inner else ''})")
    return f"GROUP BY GROUPING SETS ({', '.join(parts)})"

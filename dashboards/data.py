"""Data access for the dashboard: DuckDB over the marts (and the enriched layer for the post explorer).

Every query is cached per data version (the marts' file names and modification times), so a page
re-renders from memory until a pipeline run rewrites a mart.

Numbers over a date range are recomputed from the marts' additive day (or week) rows: counts are summed,
rates and shares are divided again, and comparisons are tested again with the same statistics the
marts use (``pipelines.marts.stats``). For a range that is exactly one ISO week with every brand, source
and language selected, the dashboard shows the numbers the week rows of the marts hold.

Filters and slices. Marts hold rows for all sources and languages (``'*'``), for each source and for
each language; volume and KPIs also for each source x language pair. A filter on sources sums the
per-source rows, one on languages the per-language rows. Where a mart has no pair rows and both are
restricted, the source filter is applied and the page says so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
import streamlit as st
from scipy.special import ndtr

from pipelines.marts import stats
from pipelines.marts.evidence import evidence_posts
from pipelines.project import Project, open_project
from pipelines.storage import ENRICHED
from schemas.tables import ALL

SIGNIFICANCE = 0.05


@st.cache_resource
def _project(config_path: str | None) -> Project:
    return open_project(config_path)


def project() -> Project:
    """The project named by $LISTENING_CONFIG (loaded once per config file)."""
    return _project(os.environ.get("LISTENING_CONFIG"))


def data_version(proj: Project | None = None) -> str:
    """Changes whenever a mart or enriched partition is rewritten; part of every cache key."""
    proj = proj or project()
    paths = proj.storage.glob("marts/*/data.parquet")
    stamp = "|".join(f"{p}:{proj.storage.fs.info(p).get('mtime', '')}" for p in paths)
    return f"{proj.config_path}#{stamp}"


def mart_path(name: str) -> str:
    return project().storage.mart_path(name)


def has_mart(name: str) -> bool:
    return project().storage.exists(mart_path(name))


# -- filters -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    brands: tuple[str, ...]
    sources: tuple[str, ...]
    languages: tuple[str, ...]
    all_sources: bool = True
    all_languages: bool = True

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The window of the same length just before this one."""
        return replace(
            self, start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(days=1)
        )

    @property
    def complete(self) -> bool:
        return bool(self.brands and self.sources and self.languages)


def monday(day: dt.date) -> dt.date:
    """Start of the ISO week holding ``day`` (week rows are keyed by it)."""
    return day - dt.timedelta(days=day.weekday())


def _bind(sql: str, params: dict) -> dict:
    """Only the parameters the SQL names (DuckDB rejects unused named parameters)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


@st.cache_data(ttl=3600, show_spinner=False, max_entries=1024)
def _query(version: str, sql: str, params: dict) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = '2GB'")
        return con.execute(sql, _bind(sql, params)).df()
    finally:
        con.close()


def query(sql: str, **params) -> pd.DataFrame:
    return _query(data_version(), sql, params)


@st.cache_data(ttl=3600, show_spinner=False)
def _filter_options(version: str) -> dict:
    path = mart_path("mart_brand_volume")  # the finest grain: every source x language, no '*' rows
    if not project().storage.exists(path):
        return {}
    con = duckdb.connect()
    low, high = con.execute(
        f"SELECT MIN(period_start), MAX(period_start) FROM read_parquet('{path}') WHERE period = 'day'"
    ).fetchall()[0]
    sources = [
        r[0] for r in con.execute(f"SELECT DISTINCT source FROM read_parquet('{path}') ORDER BY 1").fetchall()
    ]
    languages = [
        r[0] for r in con.execute(
            f"SELECT language, SUM(mentions) n FROM read_parquet('{path}') GROUP BY 1 ORDER BY n DESC, 1"
        ).fetchall()
    ]  # fmt: skip
    if low is None:
        return {}
    return {"start": low, "end": high, "sources": sources, "languages": languages}


def filter_options() -> dict:
    """Date range, sources and languages (most mentioned first) present in the marts; {} before a run."""
    return _filter_options(data_version())


def slice_sql(filters: Filters, pairs: bool = False) -> tuple[str, str | None]:
    """The WHERE clause selecting a mart's slice rows for the filters, and a note when it is partial."""
    if filters.all_sources and filters.all_languages:
        return f"source = '{ALL}' AND language = '{ALL}'", None
    if filters.all_languages:
        return f"list_contains($sources, source) AND language = '{ALL}'", None
    if filters.all_sources:
        return f"source = '{ALL}' AND list_contains($languages, language)", None
    if pairs:
        return "list_contains($sources, source) AND list_contains($languages, language)", None
    return (
        f"list_contains($sources, source) AND language = '{ALL}'",
        "This view is filtered by source; its marts split by source or by language, not both, so the "
        "language filter applies to volume and share of voice only.",
    )


def _params(filters: Filters, **extra) -> dict:
    return {
        "start": filters.start,
        "end": filters.end,
        "brands": list(filters.brands),
        "sources": list(filters.sources),
        "languages": list(filters.languages),
        **extra,
    }


def mart_rows(name: str, filters: Filters, period: str = "day", pairs: bool = False, columns: str = "*"):
    """Rows of a mart for the filters: (DataFrame, note). Week rows are those whose week starts in range."""
    where, note = slice_sql(filters, pairs)
    start = filters.start
    if period == "week":
        start = monday(start)
    sql = f"""
        SELECT {columns} FROM read_parquet($path)
        WHERE period = $period AND period_start BETWEEN $start AND $end
          AND list_contains($brands, brand_id) AND {where}
    """
    params = _params(filters, path=mart_path(name), period=period)
    params["start"] = start
    return query(sql, **params), note


# -- brand KPIs -------------------------------------------------------------------------------------------
_KPI_SUMS = """
    SELECT brand_id, CAST(SUM(mentions) AS BIGINT) AS mentions, CAST(SUM(positive) AS BIGINT) AS positive,
           CAST(SUM(neutral) AS BIGINT) AS neutral, CAST(SUM(negative) AS BIGINT) AS negative
    FROM read_parquet($path)
    WHERE period = 'day' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
      AND {where}
    GROUP BY brand_id
"""
_RESPONSE_SUMS = """
    SELECT brand_id, CAST(SUM(eligible) AS BIGINT) AS eligible, CAST(SUM(answered) AS BIGINT) AS answered
    FROM read_parquet($path)
    WHERE period = 'day' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
      AND {where}
    GROUP BY brand_id
"""


def _window_kpis(filters: Filters) -> pd.DataFrame:
    where, _ = slice_sql(filters, pairs=True)
    kpis = query(_KPI_SUMS.format(where=where), **_params(filters, path=mart_path("mart_brand_kpis")))
    where, _ = slice_sql(filters)
    resp = query(
        _RESPONSE_SUMS.format(where=where), **_params(filters, path=mart_path("mart_responsiveness"))
    )
    frame = pd.DataFrame({"brand_id": list(filters.brands)})
    frame = frame.merge(kpis, on="brand_id", how="left").merge(resp, on="brand_id", how="left")
    counts = ["mentions", "positive", "neutral", "negative", "eligible", "answered"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    total = frame["mentions"].sum()
    m = frame["mentions"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["share_of_voice"] = m / total if total else np.nan
        frame["net_sentiment"] = np.where(m > 0, 100 * (frame["positive"] - frame["negative"]) / m, np.nan)
        frame["negative_share"] = np.where(m > 0, frame["negative"] / m, np.nan)
        e = frame["eligible"].astype(float)
        frame["response_rate"] = np.where(e > 0, frame["answered"] / e, np.nan)
    return frame


def brand_kpis(filters: Filters) -> pd.DataFrame:
    """Per brand: volume, share of voice (among the selected brands), net sentiment, negative share and
    response rate in the range, with the same figures for the window just before and the changes."""
    now = _window_kpis(filters)
    prev = _window_kpis(filters.previous()).add_suffix("_prev").rename(columns={"brand_id_prev": "brand_id"})
    frame = now.merge(prev, on="brand_id")
    has_prev = frame["mentions_prev"] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["mentions_change_pct"] = np.where(
            has_prev, 100 * (frame["mentions"] - frame["mentions_prev"]) / frame["mentions_prev"], np.nan
        )
    frame["share_change_pts"] = np.where(
        has_prev, 100 * (frame["share_of_voice"] - frame["share_of_voice_prev"]), np.nan
    )
    frame["net_sentiment_change"] = frame["net_sentiment"] - frame["net_sentiment_prev"]
    frame["response_rate_change_pts"] = 100 * (frame["response_rate"] - frame["response_rate_prev"])
    frame["negative_change_p"] = stats.two_proportion_p(
        frame["negative"], frame["mentions"], frame["negative_prev"], frame["mentions_prev"]
    )
    return frame


def volume_and_share(filters: Filters, period: str) -> pd.DataFrame:
    """Mentions and share of voice per brand and period (shares among the selected brands)."""
    where, _ = slice_sql(filters, pairs=True)
    sql = f"""
        WITH v AS (
            SELECT period_start, brand_id, SUM(mentions) AS mentions
            FROM read_parquet($path)
            WHERE period = $period AND period_start BETWEEN $start AND $end
              AND list_contains($brands, brand_id) AND {where}
            GROUP BY ALL
        ),
        grid AS (
            SELECT p.period_start, b.brand_id
            FROM (SELECT DISTINCT period_start FROM v) p CROSS JOIN (SELECT UNNEST($brands) AS brand_id) b
        )
        SELECT g.period_start, g.brand_id, CAST(COALESCE(v.mentions, 0) AS BIGINT) AS mentions,
               COALESCE(v.mentions, 0) / NULLIF(SUM(COALESCE(v.mentions, 0)) OVER (PARTITION BY g.period_start), 0)
                   AS share_of_voice
        FROM grid g LEFT JOIN v USING (period_start, brand_id)
        ORDER BY g.period_start, g.brand_id
    """
    start = filters.start if period == "day" else monday(filters.start)
    params = _params(filters, path=mart_path("mart_brand_kpis"), period=period)
    params["start"] = start
    return query(sql, **params)


# -- categories (pain points, motives, intents) -------------------------------------------------------------
CATEGORY_MARTS = {"pain_point": "mart_pain_points", "motive": "mart_motives", "intent": "mart_intents"}


def _category_counts(filters: Filters, kind: str) -> tuple[pd.DataFrame, pd.Series, str | None]:
    """Posts per brand and category, and mentions per brand, summed over the day rows in range."""
    where, note = slice_sql(filters)
    sql = f"""
        SELECT brand_id, {kind} AS category, CAST(SUM(posts) AS BIGINT) AS posts
        FROM read_parquet($path)
        WHERE period = 'day' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
          AND {where}
        GROUP BY ALL
    """
    posts = query(sql, **_params(filters, path=mart_path(CATEGORY_MARTS[kind])))
    # Mentions come from the KPIs with the same slice rows, so a brand without the label still counts.
    kpi = query(_KPI_SUMS.format(where=where), **_params(filters, path=mart_path("mart_brand_kpis")))
    mentions = kpi.set_index("brand_id")["mentions"].reindex(list(filters.brands)).fillna(0).astype("int64")
    return posts, mentions, note


def category_comparison(
    filters: Filters, kind: str, categories: tuple[str, ...]
) -> tuple[pd.DataFrame, str | None]:
    """Per brand and category over the range: posts, rate per 1,000 mentions, the rate in the previous
    window and the gap against the pooled other selected brands, with CI, p, BH q and ``significant``."""
    posts, mentions, note = _category_counts(filters, kind)
    prev_posts, prev_mentions, _ = _category_counts(filters.previous(), kind)
    grid = pd.MultiIndex.from_product(
        [list(filters.brands), list(categories)], names=["brand_id", "category"]
    )
    frame = pd.DataFrame(index=grid).reset_index()
    frame = frame.merge(posts, on=["brand_id", "category"], how="left")
    frame = frame.merge(
        prev_posts.rename(columns={"posts": "posts_prev"}), on=["brand_id", "category"], how="left"
    )
    frame[["posts", "posts_prev"]] = frame[["posts", "posts_prev"]].fillna(0).astype("int64")
    frame["mentions"] = frame["brand_id"].map(mentions).astype("int64")
    frame["mentions_prev"] = frame["brand_id"].map(prev_mentions).astype("int64")
    per_category = frame.groupby("category")[["posts"]].transform("sum")["posts"]
    frame["competitor_posts"] = per_category - frame["posts"]
    frame["competitor_mentions"] = int(mentions.sum()) - frame["mentions"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate_per_1000"] = np.where(
            frame["mentions"] > 0, 1000 * frame["posts"] / frame["mentions"], np.nan
        )
        frame["rate_prev"] = np.where(
            frame["mentions_prev"] > 0, 1000 * frame["posts_prev"] / frame["mentions_prev"], np.nan
        )
        frame["competitor_rate"] = np.where(
            frame["competitor_mentions"] > 0,
            1000 * frame["competitor_posts"] / frame["competitor_mentions"],
            np.nan,
        )
    frame["rate_change"] = frame["rate_per_1000"] - frame["rate_prev"]
    frame["gap"] = frame["rate_per_1000"] - frame["competitor_rate"]
    low, high = stats.newcombe_ci(
        frame["posts"], frame["mentions"], frame["competitor_posts"], frame["competitor_mentions"]
    )
    frame["gap_ci_low"], frame["gap_ci_high"] = 1000 * low, 1000 * high
    frame["p_value"] = stats.two_proportion_p(
        frame["posts"], frame["mentions"], frame["competitor_posts"], frame["competitor_mentions"]
    )
    # As in the marts: a category no selected brand had in the window (and this brand not in the one
    # before) is no test, so it does not enlarge the BH family.
    untested = (frame["posts"] + frame["competitor_posts"] == 0) & (frame["posts_prev"] == 0)
    frame.loc[untested, "p_value"] = np.nan
    frame["q_value"] = stats.benjamini_hochberg(frame["p_value"])
    frame["significant"] = (frame["q_value"] < SIGNIFICANCE).fillna(False).astype(bool)
    return frame, note


def category_trend(filters: Filters, kind: str, category: str) -> pd.DataFrame:
    """Weekly rate per 1,000 mentions of one category per brand (from the week rows)."""
    where, _ = slice_sql(filters)
    sql = f"""
        WITH k AS (
            SELECT period_start, brand_id, SUM(mentions) AS mentions FROM read_parquet($kpis)
            WHERE period = 'week' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
              AND {where} GROUP BY ALL
        ),
        c AS (
            SELECT period_start, brand_id, SUM(posts) AS posts FROM read_parquet($path)
            WHERE period = 'week' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
              AND {kind} = $category AND {where} GROUP BY ALL
        )
        SELECT k.period_start, k.brand_id, CAST(COALESCE(c.posts, 0) AS BIGINT) AS posts,
               CAST(k.mentions AS BIGINT) AS mentions, 1000.0 * COALESCE(c.posts, 0) / k.mentions AS rate_per_1000
        FROM k LEFT JOIN c USING (period_start, brand_id) WHERE k.mentions > 0
        ORDER BY 1, 2
    """
    params = _params(
        filters, path=mart_path(CATEGORY_MARTS[kind]), kpis=mart_path("mart_brand_kpis"), category=category
    )
    params["start"] = monday(filters.start)
    return query(sql, **params)


def motive_gap(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    """Audience motive mix against the mix of the brand's own posts, over the range."""
    where, note = slice_sql(filters)
    sql = f"""
        WITH s AS (
            SELECT brand_id, motive, CAST(SUM(audience_posts) AS BIGINT) AS audience_posts,
                   CAST(SUM(brand_posts) AS BIGINT) AS brand_posts
            FROM read_parquet($path)
            WHERE period = 'day' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
              AND {where}
            GROUP BY ALL
        )
        SELECT *, audience_posts / NULLIF(SUM(audience_posts) OVER (PARTITION BY brand_id), 0) AS audience_mix,
               brand_posts / NULLIF(SUM(brand_posts) OVER (PARTITION BY brand_id), 0) AS brand_mix
        FROM s ORDER BY brand_id, motive
    """
    frame = query(sql, **_params(filters, path=mart_path("mart_motive_gap")))
    frame["gap_pts"] = 100 * (frame["brand_mix"].fillna(0) - frame["audience_mix"].fillna(0))
    return frame, note


# -- tone, switching --------------------------------------------------------------------------------------------
def audience_tone(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    where, note = slice_sql(filters)
    sql = f"""
        SELECT brand_id, dimension, label, CAST(SUM(posts) AS BIGINT) AS posts
        FROM read_parquet($path)
        WHERE period = 'day' AND period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
          AND {where}
        GROUP BY ALL
    """
    frame = query(sql, **_params(filters, path=mart_path("mart_audience_tone")))
    frame["share"] = frame["posts"] / frame.groupby(["brand_id", "dimension"])["posts"].transform("sum")
    return frame, note


def switching(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    where, note = slice_sql(filters)
    sql = f"""
        SELECT from_brand, to_brand, CAST(SUM(posts) AS BIGINT) AS posts
        FROM read_parquet($path)
        WHERE period = 'day' AND period_start BETWEEN $start AND $end AND {where}
          AND (list_contains($brands, from_brand) OR list_contains($brands, to_brand))
        GROUP BY ALL ORDER BY posts DESC, from_brand, to_brand
    """
    return query(sql, **_params(filters, path=mart_path("mart_switching"))), note


# -- engagement ------------------------------------------------------------------------------------------------
def responsiveness_weekly(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    frame, note = mart_rows(
        "mart_responsiveness",
        filters,
        "week",
        columns="period_start, brand_id, source, language, eligible, answered, response_rate, "
        "median_response_minutes, p90_response_minutes",
    )
    if not (filters.all_sources and filters.all_languages):
        # Medians do not add up over slices: keep one row per brand and week only when it is a single slice.
        frame = frame.groupby(["period_start", "brand_id"], as_index=False).agg(
            eligible=("eligible", "sum"),
            answered=("answered", "sum"),
            median_response_minutes=(
                "median_response_minutes",
                lambda s: s.iloc[0] if len(s) == 1 else np.nan,
            ),
            p90_response_minutes=("p90_response_minutes", lambda s: s.iloc[0] if len(s) == 1 else np.nan),
        )
        frame["response_rate"] = frame["answered"] / frame["eligible"].where(frame["eligible"] > 0)
    return frame.sort_values(["period_start", "brand_id"]).reset_index(drop=True), note


def unanswered(filters: Filters, limit: int = 500) -> pd.DataFrame:
    sql = """
        SELECT created_at, brand_id, kind, source, language, author_id, text, url, post_id
        FROM read_parquet($path)
        WHERE period_start BETWEEN $start AND $end AND list_contains($brands, brand_id)
          AND list_contains($sources, source) AND list_contains($languages, language)
        ORDER BY created_at DESC, post_id LIMIT $limit
    """
    return query(sql, **_params(filters, path=mart_path("mart_unanswered"), limit=limit))


def cadence(filters: Filters, period: str) -> tuple[pd.DataFrame, str | None]:
    frame, note = mart_rows(
        "mart_cadence", filters, period, columns="period_start, brand_id, posts, original_posts, replies"
    )
    frame = frame.groupby(["period_start", "brand_id"], as_index=False).sum(numeric_only=True)
    return frame, note


def audience_activity(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    frame, note = mart_rows(
        "mart_audience_activity", filters, "week", columns="brand_id, weekday, hour, posts"
    )
    frame = frame.groupby(["weekday", "hour"], as_index=False)["posts"].sum()
    grid = pd.MultiIndex.from_product([range(1, 8), range(24)], names=["weekday", "hour"]).to_frame(
        index=False
    )
    frame = grid.merge(frame, on=["weekday", "hour"], how="left").fillna({"posts": 0})
    frame["posts"] = frame["posts"].astype("int64")
    return frame, note


def participation(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    """The 1/9/90 split of the last ISO week in range (authors do not add up over weeks or slices)."""
    sf = replace(filters, all_sources=True, all_languages=True)
    frame, _ = mart_rows("mart_participation", sf, "week")
    note = (
        None
        if (filters.all_sources and filters.all_languages)
        else "1/9/90 counts every source and language."
    )
    if frame.empty:
        return frame, note
    last = frame["period_start"].max()
    return frame[frame["period_start"] == last].sort_values("brand_id").reset_index(drop=True), note


def top_voices(filters: Filters, limit: int = 10) -> tuple[pd.DataFrame, str | None]:
    """Advocates and critics over the weeks in range (summed across weekly rankings)."""
    frame, note = mart_rows(
        "mart_top_voices",
        filters,
        "week",
        columns="brand_id, role, author_id, posts, positive, negative, reach, engagement, post_ids",
    )
    if frame.empty:
        return frame, note
    frame = frame.groupby(["brand_id", "role", "author_id"], as_index=False).agg(
        posts=("posts", "sum"),
        positive=("positive", "sum"),
        negative=("negative", "sum"),
        reach=("reach", "max"),
        engagement=("engagement", "sum"),
        weeks=("posts", "size"),
        post_ids=("post_ids", lambda s: sorted({p for ids in s for p in ids})),
    )
    frame = frame.sort_values(
        ["brand_id", "role", "posts", "reach", "author_id"], ascending=[True, True, False, False, True]
    )
    frame["rank"] = frame.groupby(["brand_id", "role"]).cumcount() + 1
    return frame[frame["rank"] <= limit].reset_index(drop=True), note


# -- alerts and themes ------------------------------------------------------------------------------------------
def spikes(filters: Filters) -> tuple[pd.DataFrame, str | None]:
    frame, note = mart_rows("mart_spikes", filters, "day")
    return frame.sort_values(["period_start", "score"], ascending=[False, False]).reset_index(drop=True), note


def themes(filters: Filters) -> pd.DataFrame:
    path = mart_path("themes")
    if not project().storage.exists(path):
        return pd.DataFrame()
    sql = """
        SELECT * FROM read_parquet($path)
        WHERE period_start BETWEEN $start AND $end
          AND len(list_intersect(brands, $brands)) > 0 AND len(list_intersect(languages, $languages)) > 0
        ORDER BY period_start DESC, novel DESC, posts DESC, theme_id
    """
    params = _params(filters, path=path)
    params["start"] = monday(filters.start)
    return query(sql, **params)


def weeks_in_range(filters: Filters) -> list[dt.date]:
    """Mondays of the ISO weeks that overlap the range, newest first."""
    week = monday(filters.end)
    weeks = []
    while week + dt.timedelta(days=6) >= filters.start:
        weeks.append(week)
        week -= dt.timedelta(days=7)
    return weeks


def week_rows(name: str, filters: Filters, week: dt.date) -> pd.DataFrame:
    """One ISO week's rows of a mart exactly as built (the '*' slice unless the filters pick one)."""
    f = replace(filters, start=week, end=week)
    frame, _ = mart_rows(name, f, "week")
    return frame


# -- drill-down --------------------------------------------------------------------------------------------------
def evidence_for(filters: Filters, brand_id: str | None = None, **labels) -> dict:
    """An evidence filter for posts behind a number summed over the range (see pipelines.marts.evidence)."""
    spec: dict = {"period_start": filters.start.isoformat(), "period_end": filters.end.isoformat()}
    if brand_id:
        spec["brand_id"] = brand_id
    if not filters.all_sources:
        spec["source"] = list(filters.sources)
    if not filters.all_languages:
        spec["language"] = list(filters.languages)
    spec.update(labels)
    return spec


@st.cache_data(ttl=3600, show_spinner=False, max_entries=256)
def _evidence(version: str, spec_json: str, limit: int, order: str) -> pd.DataFrame:
    return evidence_posts(project(), spec_json, limit=limit, order=order).to_pandas()


def posts_behind(spec: dict | str, limit: int = 5, order: str = "engaged") -> pd.DataFrame:
    """The posts counted in a number (most engaged first by default)."""
    spec_json = spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)
    return _evidence(data_version(), spec_json, limit, order)


# -- post explorer -------------------------------------------------------------------------------------------------
def _enriched_glob() -> str:
    return project().storage.parquet_glob(ENRICHED)


def explore_posts(
    filters: Filters,
    text: str = "",
    sentiment: tuple[str, ...] = (),
    pain_point: str | None = None,
    motive: str | None = None,
    intent: str | None = None,
    include_brand_posts: bool = False,
    limit: int = 200,
) -> tuple[pd.DataFrame, int]:
    """Posts matching the filters and a case-insensitive text search, newest first, and how many match."""
    where = [
        "date BETWEEN CAST($utc_lo AS DATE) AND CAST($utc_hi AS DATE)",
        "CAST(timezone($tz, created_at) AS DATE) BETWEEN $start AND $end",
        "NOT is_deleted",
        "len(list_intersect(brands, $brands)) > 0",
        "list_contains($sources, source)",
        "list_contains($languages, language)",
    ]
    params = _params(
        filters,
        glob=_enriched_glob(),
        tz=project().config.timezone,
        utc_lo=(filters.start - dt.timedelta(days=1)).isoformat(),
        utc_hi=(filters.end + dt.timedelta(days=1)).isoformat(),
        limit=limit,
    )
    if text.strip():
        where.append("contains(lower(text), lower($text))")
        params["text"] = text.strip()
    if sentiment:
        where.append("list_contains($sentiment, sentiment_label)")
        params["sentiment"] = list(sentiment)
    for name, value, column in (("pain", pain_point, "pain_points"), ("motive", motive, "motives")):
        if value:
            where.append(f"list_contains(list_transform({column}, lambda x: x.id), ${name})")
            params[name] = value
    if intent:
        where.append("list_contains(intents, $intent)")
        params["intent"] = intent
    if not include_brand_posts:
        where.append("NOT is_brand_account")
    sql = f"""
        SELECT post_id, created_at, source, language, brands, author_id, text, url, sentiment_label,
               emotion, formality, intents, list_transform(pain_points, lambda x: x.id) AS pain_point_ids,
               list_transform(motives, lambda x: x.id) AS motive_ids, brand_mentions, pain_points, motives,
               label_evidence, likes, reposts, replies, is_likely_bot, COUNT(*) OVER () AS matches
        FROM read_parquet($glob, hive_partitioning = true, hive_types = {{'date': DATE}})
        WHERE {" AND ".join(where)}
        ORDER BY created_at DESC, post_id LIMIT $limit
    """
    if not project().storage.glob(f"{ENRICHED}/**/*.parquet"):
        return pd.DataFrame(), 0
    frame = query(sql, **params)
    total = int(frame["matches"].iloc[0]) if len(frame) else 0
    return frame.drop(columns="matches"), total


# -- movements -------------------------------------------------------------------------------------------------
MIN_MENTIONS = 30  # a volume change on fewer mentions is not worth a headline


def movements(filters: Filters, week: dt.date, pain_names: dict[str, str], limit: int = 5) -> pd.DataFrame:
    """The week's statistically meaningful movements, strongest first, in plain words (from the week rows).

    * a volume or negative-share spike on a day of the week (robust z / binomial z, mart_spikes);
    * a change in negative share against the previous week with p < 0.05 (mart_brand_kpis);
    * a pain point significantly above or below the competitor average (BH q < 0.05, mart_pain_points)
      that also moved against the previous week.
    """
    rows = []
    kpis = week_rows("mart_brand_kpis", filters, week)
    for r in kpis.itertuples():
        if (
            pd.notna(r.negative_change_p)
            and r.negative_change_p < SIGNIFICANCE
            and r.mentions >= MIN_MENTIONS
        ):
            direction = "rose" if r.negative_share_change_pts > 0 else "fell"
            rows.append((r.brand_id, "negative_share", r.negative_change_p,
                         f"negative share {direction} {abs(r.negative_share_change_pts):.1f} points to "
                         f"{r.negative_share:.0%} ({r.negative:,} of {r.mentions:,} mentions; p = {r.negative_change_p:.2g})."))  # fmt: skip
    pains = week_rows("mart_pain_points", filters, week)
    for r in pains[pains["significant"]].itertuples():
        side = "above" if r.gap > 0 else "below"
        change = "" if pd.isna(r.rate_change) else f", {r.rate_change:+.0f} on the week before"
        rows.append((r.brand_id, f"pain:{r.pain_point}", r.q_value,
                     f"{pain_names.get(r.pain_point, r.pain_point)} at {r.rate_per_1000:.0f} per 1,000 mentions, "
                     f"{abs(r.gap):.0f} {side} competitors ({r.competitor_rate:.0f}; 95% CI of the gap "
                     f"{r.gap_ci_low:+.0f} to {r.gap_ci_high:+.0f}, q = {r.q_value:.2g}){change}."))  # fmt: skip
    spikes_ = query(
        """SELECT * FROM read_parquet($path) WHERE period = 'day' AND period_start BETWEEN $start AND $end
           AND list_contains($brands, brand_id) AND source = '*' AND language = '*'
           ORDER BY brand_id, metric, score DESC, period_start""",
        path=mart_path("mart_spikes"), start=week, end=week + dt.timedelta(days=6), brands=list(filters.brands),
    )  # fmt: skip
    for (brand_id, metric), days in spikes_.groupby(["brand_id", "metric"], sort=False):
        r = days.iloc[0]  # the strongest day; the others are counted
        what = (f"{r.value:,.0f} mentions against a usual {r.baseline:,.0f}" if metric == "volume"
                else f"negative share {r.value:.0%} against a usual {r.baseline:.0%}")  # fmt: skip
        more = (
            f" (and {len(days) - 1} more day{'s' if len(days) > 2 else ''} this week)"
            if len(days) > 1
            else ""
        )
        pains = list(r.top_pain_points)
        top = f"; top pain point: {pain_names.get(pains[0], pains[0])}" if pains else ""
        rows.append((brand_id, f"spike:{metric}", 2 * float(ndtr(-abs(r.score))),  # a two-sided p, on one scale with the tests
                     f"{'volume' if metric == 'volume' else 'negative-share'} spike on {r.period_start:%a %d %b}: "
                     f"{what} (z = {r.score:.1f}){more}{top}."))  # fmt: skip
    frame = pd.DataFrame(rows, columns=["brand_id", "kind", "p_value", "text"])
    return frame.sort_values(["p_value", "brand_id", "kind"]).head(limit).reset_index(drop=True)

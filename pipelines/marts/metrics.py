"""Every metric, defined once: DuckDB SQL over the facts (see ``facts.py``), plus the tests in
``stats.py``. ``docs/metrics.md`` explains each in words. A builder returns its mart for every period
the facts cover; ``build.py`` keeps the periods it was asked for and writes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.contracts import conform
from pipelines.marts import stats
from pipelines.marts.facts import FINE_SLICES, Facts, grouping
from schemas.tables import (
    EMOTIONS,
    FORMALITY,
    INTENTS,
    MART_AUDIENCE_ACTIVITY,
    MART_AUDIENCE_TONE,
    MART_BRAND_KPIS,
    MART_BRAND_VOICE,
    MART_BRAND_VOLUME,
    MART_CADENCE,
    MART_INTENTS,
    MART_MOTIVE_GAP,
    MART_MOTIVES,
    MART_PAIN_POINT_GAPS,
    MART_PAIN_POINTS,
    MART_PARTICIPATION,
    MART_RESPONSIVENESS,
    MART_SPIKES,
    MART_SWITCHING,
    MART_TOP_VOICES,
    MART_UNANSWERED,
    Table,
)

DIM = "period, period_start, brand_id"
SLICE_COLS = "COALESCE(source, '*') AS source, COALESCE(language, '*') AS language"
PREV_GAP = "CASE WHEN cur.period = 'day' THEN 1 ELSE 7 END"
SIGNIFICANCE = 0.05
ROW_KEYS = ["brand_id", "period", "period_start", "source", "language"]  # what an evidence filter names
FORMALITY_SCORE = "CASE formality WHEN 'casual' THEN -1.0 WHEN 'formal' THEN 1.0 ELSE 0.0 END"


def _arrow(f: Facts, sql: str, params: dict | None = None) -> pa.Table:
    return f.con.sql(sql, params=params or None).to_arrow_table()


def _bots(f: Facts) -> str:
    return f"'include_bots', {str(f.settings.include_bots).lower()}"


def _prev_exists(f: Facts) -> str:
    """SQL: the previous period is not before the first day of data (else its values are unknown, not
    zero). It ends the day before this one starts, so a partial first week still counts as known."""
    start = f.data_start.isoformat() if f.data_start else "9999-12-31"
    return f"cur.period_start > DATE '{start}'"


def _exists(f: Facts, table: str) -> bool:
    """Whether a shared intermediate table was already built in this build."""
    return bool(
        f.con.execute("SELECT COUNT(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]
    )


def _mention_cells(f: Facts) -> None:
    """Mentions per period, brand and slice (zero-filled for every configured brand) -> ``cells``."""
    if _exists(f, "cells"):
        return
    f.con.execute(
        f"""
        CREATE TEMP TABLE cells AS
        WITH c AS (
            SELECT {DIM}, {SLICE_COLS}, COUNT(*) AS mentions,
                   COUNT(*) FILTER (sentiment_label = 'positive') AS positive,
                   COUNT(*) FILTER (sentiment_label = 'neutral') AS neutral,
                   COUNT(*) FILTER (sentiment_label = 'negative') AS negative
            FROM pm {grouping(DIM, FINE_SLICES)}
        ),
        slices AS (SELECT DISTINCT period, period_start, source, language FROM c)
        SELECT s.period, s.period_start, b.brand_id, s.source, s.language,
               COALESCE(c.mentions, 0) AS mentions, COALESCE(c.positive, 0) AS positive,
               COALESCE(c.neutral, 0) AS neutral, COALESCE(c.negative, 0) AS negative
        FROM slices s CROSS JOIN configured_brands b
        LEFT JOIN c ON c.period = s.period AND c.period_start = s.period_start AND c.brand_id = b.brand_id
                   AND c.source = s.source AND c.language = s.language
        """
    )


def brand_volume(f: Facts) -> pa.Table:
    sql = f"""
        SELECT {DIM}, source, language, COUNT(*) AS mentions FROM pm GROUP BY ALL
    """
    df = _arrow(f, sql).to_pandas()
    df["evidence"] = _evidence_column(df, f, ROW_KEYS)
    return _table(df, MART_BRAND_VOLUME)


def brand_kpis(f: Facts) -> pa.Table:
    _mention_cells(f)
    sql = f"""
        WITH t AS (
            SELECT *, CAST(SUM(mentions) OVER (PARTITION BY period, period_start, source, language) AS BIGINT)
                       AS total_mentions,
                   mentions / NULLIF(SUM(mentions) OVER (PARTITION BY period, period_start, source, language), 0)
                       AS share_of_voice,
                   100.0 * (positive - negative) / NULLIF(mentions, 0) AS net_sentiment,
                   positive / NULLIF(mentions, 0) AS positive_share,
                   neutral / NULLIF(mentions, 0) AS neutral_share,
                   negative / NULLIF(mentions, 0) AS negative_share
            FROM cells
        )
        SELECT cur.*,
               CASE WHEN {_prev_exists(f)} THEN COALESCE(prev.mentions, 0) END AS mentions_prev,
               CASE WHEN {_prev_exists(f)} THEN COALESCE(prev.share_of_voice, 0) END AS share_of_voice_prev,
               prev.net_sentiment AS net_sentiment_prev,
               prev.negative_share AS negative_share_prev,
               prev.negative AS negative_prev_count
        FROM t cur LEFT JOIN t prev
          ON prev.period = cur.period AND prev.brand_id = cur.brand_id AND prev.source = cur.source
         AND prev.language = cur.language AND prev.period_start = cur.period_start - {PREV_GAP}
    """
    df = _arrow(f, sql).to_pandas()
    df["share_of_voice"] = df["share_of_voice"].fillna(0.0)
    prev = df["mentions_prev"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["mentions_change_pct"] = np.where(prev > 0, 100 * (df["mentions"] - prev) / prev, np.nan)
    df["share_change_pts"] = 100 * (df["share_of_voice"] - df["share_of_voice_prev"])
    df["net_sentiment_change"] = df["net_sentiment"] - df["net_sentiment_prev"]
    df["negative_share_change_pts"] = 100 * (df["negative_share"] - df["negative_share_prev"])
    df["negative_change_p"] = stats.two_proportion_p(
        df["negative"], df["mentions"], df["negative_prev_count"].fillna(0), df["mentions_prev"].fillna(0)
    )
    df["evidence"] = _evidence_column(df, f, ROW_KEYS)
    return _table(df, MART_BRAND_KPIS)


def _table(df: pd.DataFrame, table: Table) -> pa.Table:
    """DataFrame -> contract table; floats rounded so a partial and a full build agree bit for bit."""
    for name in df.columns:
        if pd.api.types.is_float_dtype(df[name]):
            df[name] = df[name].round(9)
    data = pa.Table.from_pandas(df, preserve_index=False)
    return conform(data.select([c for c in table.columns if c in data.column_names]), table)


def _categories(f: Facts, list_col: str, ids: tuple[str, ...], keep: bool = False) -> pd.DataFrame:
    """Per period, brand, slice and category: posts, mentions, previous period, pooled competitors."""
    if list_col in f.cache:  # pain points and their pairwise gaps share one computation
        return f.cache.pop(list_col)
    _mention_cells(f)
    f.con.register("category_ids", pa.table({"category": list(ids)}))
    sql = f"""
        WITH c AS (
            SELECT {DIM}, category, {SLICE_COLS}, COUNT(*) AS posts
            FROM (SELECT period, period_start, brand_id, source, language, UNNEST({list_col}) AS category FROM pm)
            {grouping(DIM + ", category")}
        ),
        g AS (
            SELECT cells.period, cells.period_start, cells.brand_id, cells.source, cells.language,
                   k.category, cells.mentions, COALESCE(c.posts, 0) AS posts
            FROM cells CROSS JOIN category_ids k
            LEFT JOIN c ON c.period = cells.period AND c.period_start = cells.period_start
                       AND c.brand_id = cells.brand_id AND c.source = cells.source
                       AND c.language = cells.language AND c.category = k.category
            WHERE cells.source = '*' OR cells.language = '*'
        ),
        t AS (
            SELECT *,
                   CAST(SUM(posts) OVER w - posts AS BIGINT) AS competitor_posts,
                   CAST(SUM(mentions) OVER w - mentions AS BIGINT) AS competitor_mentions
            FROM g WINDOW w AS (PARTITION BY period, period_start, source, language, category)
        )
        SELECT cur.*,
               CASE WHEN {_prev_exists(f)} THEN COALESCE(prev.posts, 0) END AS posts_prev,
               CASE WHEN {_prev_exists(f)} THEN COALESCE(prev.mentions, 0) END AS mentions_prev
        FROM t cur LEFT JOIN t prev
          ON prev.period = cur.period AND prev.brand_id = cur.brand_id AND prev.source = cur.source
         AND prev.language = cur.language AND prev.category = cur.category
         AND prev.period_start = cur.period_start - {PREV_GAP}
        -- A category no brand had in the period (and this brand not in the one before) is all zeros:
        -- no row, and no test in the family.
        WHERE cur.posts + cur.competitor_posts > 0 OR COALESCE(prev.posts, 0) > 0
    """
    df = _arrow(f, sql).to_pandas()
    with np.errstate(divide="ignore", invalid="ignore"):
        df["rate_per_1000"] = np.where(df["mentions"] > 0, 1000 * df["posts"] / df["mentions"], np.nan)
        mp = df["mentions_prev"].astype(float)
        df["rate_prev"] = np.where(mp > 0, 1000 * df["posts_prev"].astype(float) / mp, np.nan)
        cm = df["competitor_mentions"]
        df["competitor_rate"] = np.where(cm > 0, 1000 * df["competitor_posts"] / cm, np.nan)
    df["rate_change"] = df["rate_per_1000"] - df["rate_prev"]
    df["gap"] = df["rate_per_1000"] - df["competitor_rate"]
    _test(df, "posts", "mentions", "competitor_posts", "competitor_mentions",
          ["period", "period_start", "source", "language"])  # fmt: skip
    if keep:
        f.cache[list_col] = df.copy()
    return df


def _test(df: pd.DataFrame, x1: str, n1: str, x2: str, n2: str, family: list[str]) -> None:
    """Adds the CI of the gap (per 1,000), p-value, BH q-value within ``family`` and the verdict."""
    low, high = stats.newcombe_ci(df[x1], df[n1], df[x2], df[n2])
    df["gap_ci_low"], df["gap_ci_high"] = 1000 * low, 1000 * high
    df["p_value"] = stats.two_proportion_p(df[x1], df[n1], df[x2], df[n2])
    df["q_value"] = stats.benjamini_hochberg(df["p_value"], [df[c] for c in family])
    df["significant"] = (df["q_value"] < SIGNIFICANCE).fillna(False).astype(bool)


def _evidence_column(df: pd.DataFrame, f: Facts, keys: list[str], extra: dict | None = None) -> pd.Series:
    """JSON evidence filters built from ``keys`` columns, vectorised.

    The key columns hold ids, codes, dates and small integers (contract patterns: no quotes or
    backslashes), so they are quoted with ``json.dumps`` per distinct value and concatenated.
    """
    tail = json.dumps({"include_bots": f.settings.include_bots} | (extra or {}), ensure_ascii=False)[1:]
    out = pd.Series("{", index=df.index, dtype=object)
    for key in keys:
        values = df[key]
        if key in ("weekday", "hour"):
            text = values.astype(int).astype(str)
        else:
            text = values.astype(str).map(
                {v: json.dumps(v, ensure_ascii=False) for v in values.astype(str).unique()}
            )
        out = out + f'"{key}": ' + text + ", "
    return out + tail


def pain_points(f: Facts) -> pa.Table:
    df = _categories(f, "pains", f.settings.pain_points, keep=True).rename(columns={"category": "pain_point"})
    df["evidence"] = _evidence_column(df, f, [*ROW_KEYS, "pain_point"])
    return _table(df, MART_PAIN_POINTS)


def pain_point_gaps(f: Facts) -> pa.Table:
    df = _categories(f, "pains", f.settings.pain_points)
    weeks = df[df["period"] == "week"][
        ["period_start", "brand_id", "source", "language", "category", "posts", "mentions", "rate_per_1000"]
    ]
    other = weeks.rename(columns={"brand_id": "competitor_id", "posts": "competitor_posts",
                                  "mentions": "competitor_mentions", "rate_per_1000": "competitor_rate"})  # fmt: skip
    pairs = weeks.merge(other, on=["period_start", "source", "language", "category"])
    keep = (pairs["brand_id"] != pairs["competitor_id"]) & (pairs["posts"] + pairs["competitor_posts"] > 0)
    pairs = pairs[keep].reset_index(drop=True)
    pairs["gap"] = pairs["rate_per_1000"] - pairs["competitor_rate"]
    _test(pairs, "posts", "mentions", "competitor_posts", "competitor_mentions",
          ["period_start", "source", "language", "brand_id"])  # fmt: skip
    pairs = pairs.rename(columns={"category": "pain_point"})
    pairs["period"] = "week"
    pairs["evidence"] = _evidence_column(pairs, f, [*ROW_KEYS, "pain_point"])
    return _table(pairs, MART_PAIN_POINT_GAPS)


def motives(f: Facts) -> pa.Table:
    df = _categories(f, "motives", f.settings.motives).rename(columns={"category": "motive"})
    labels = df.groupby(["period", "period_start", "brand_id", "source", "language"])["posts"].transform(
        "sum"
    )
    df["mix"] = np.where(labels > 0, df["posts"] / labels.where(labels > 0, 1), np.nan)
    df["evidence"] = _evidence_column(df, f, [*ROW_KEYS, "motive"])
    return _table(df, MART_MOTIVES)


def motive_gap(f: Facts) -> pa.Table:
    f.con.register("motive_ids", pa.table({"motive": list(f.settings.motives)}))
    sql = f"""
        WITH a AS (
            SELECT {DIM}, motive, {SLICE_COLS}, COUNT(*) AS audience_posts
            FROM (SELECT period, period_start, brand_id, source, language, UNNEST(motives) AS motive FROM pm)
            {grouping(DIM + ", motive")}
        ),
        b AS (
            SELECT {DIM}, motive, {SLICE_COLS}, COUNT(*) AS brand_posts
            FROM (SELECT period, period_start, brand_id, source, language, UNNEST(motives) AS motive FROM pb)
            {grouping(DIM + ", motive")}
        ),
        slices AS (
            SELECT DISTINCT period, period_start, brand_id, source, language FROM a
            UNION SELECT DISTINCT period, period_start, brand_id, source, language FROM b
        ),
        g AS (
            SELECT s.*, m.motive, COALESCE(a.audience_posts, 0) AS audience_posts,
                   COALESCE(b.brand_posts, 0) AS brand_posts
            FROM slices s CROSS JOIN motive_ids m
            LEFT JOIN a USING (period, period_start, brand_id, source, language, motive)
            LEFT JOIN b USING (period, period_start, brand_id, source, language, motive)
        )
        SELECT * FROM (
            SELECT *,
                   audience_posts / NULLIF(SUM(audience_posts) OVER w, 0) AS audience_mix,
                   brand_posts / NULLIF(SUM(brand_posts) OVER w, 0) AS brand_mix
            FROM g WINDOW w AS (PARTITION BY period, period_start, brand_id, source, language)
        ) WHERE audience_posts > 0 OR brand_posts > 0
    """
    df = _arrow(f, sql).to_pandas()
    df["gap_pts"] = 100 * (df["brand_mix"] - df["audience_mix"])
    df["evidence"] = _evidence_column(df, f, [*ROW_KEYS, "motive"])
    return _table(df, MART_MOTIVE_GAP)


def audience_tone(f: Facts) -> pa.Table:
    _mention_cells(f)
    labels = pa.table({
        "dimension": ["emotion"] * len(EMOTIONS) + ["formality"] * len(FORMALITY),
        "label": list(EMOTIONS) + list(FORMALITY),
    })  # fmt: skip
    f.con.register("tone_labels", labels)
    sql = f"""
        WITH c AS (
            SELECT {DIM}, dimension, label, {SLICE_COLS}, COUNT(*) AS posts
            FROM (SELECT period, period_start, brand_id, source, language, 'emotion' AS dimension, emotion AS label
                  FROM pm WHERE emotion IS NOT NULL
                  UNION ALL
                  SELECT period, period_start, brand_id, source, language, 'formality', formality
                  FROM pm WHERE formality IS NOT NULL)
            {grouping(DIM + ", dimension, label")}
        )
        SELECT cells.period, cells.period_start, cells.brand_id, cells.source, cells.language,
               l.dimension, l.label, COALESCE(c.posts, 0) AS posts, cells.mentions,
               COALESCE(c.posts, 0) / NULLIF(cells.mentions, 0) AS share,
               json_object('brand_id', cells.brand_id, 'period', cells.period,
                           'period_start', CAST(cells.period_start AS VARCHAR), 'source', cells.source,
                           'language', cells.language, l.dimension, l.label, {_bots(f)}) AS evidence
        FROM cells CROSS JOIN tone_labels l
        LEFT JOIN c ON c.period = cells.period AND c.period_start = cells.period_start
                   AND c.brand_id = cells.brand_id AND c.source = cells.source AND c.language = cells.language
                   AND c.dimension = l.dimension AND c.label = l.label
        WHERE (cells.source = '*' OR cells.language = '*')
          AND EXISTS (SELECT 1 FROM c WHERE c.period = cells.period AND c.period_start = cells.period_start
                      AND c.source = cells.source AND c.language = cells.language
                      AND c.dimension = l.dimension AND c.label = l.label)
    """
    return _table(_arrow(f, sql).to_pandas(), MART_AUDIENCE_TONE)


def brand_voice(f: Facts) -> pa.Table:
    sql = f"""
        WITH w AS (
            SELECT 'week' AS period, week AS period_start, brand_id, COUNT(*) AS posts,
                   AVG(sentiment_score) AS mean_sentiment, AVG({FORMALITY_SCORE}) AS mean_formality,
                   AVG(CASE WHEN formality = 'formal' THEN 1.0 ELSE 0.0 END) AS formal_share,
                   AVG(CASE WHEN formality = 'casual' THEN 1.0 ELSE 0.0 END) AS casual_share
            FROM brand_posts GROUP BY ALL
        )
        SELECT *,
               COUNT(*) OVER r AS weeks_in_window,
               stddev_pop(mean_sentiment) OVER r AS sentiment_variation,
               stddev_pop(mean_formality) OVER r AS formality_variation,
               json_object('brand_id', brand_id, 'period', period, 'period_start', CAST(period_start AS VARCHAR),
                           'source', '*', 'language', '*', 'brand_account', true) AS evidence
        FROM w
        WINDOW r AS (PARTITION BY brand_id ORDER BY period_start
                     RANGE BETWEEN INTERVAL 49 DAYS PRECEDING AND CURRENT ROW)
    """
    return _table(_arrow(f, sql).to_pandas(), MART_BRAND_VOICE)


def intents(f: Facts) -> pa.Table:
    df = _categories(f, "intents", INTENTS).rename(columns={"category": "intent"})
    df["evidence"] = _evidence_column(df, f, [*ROW_KEYS, "intent"])
    return _table(df, MART_INTENTS)


def switching(f: Facts) -> pa.Table:
    sql = f"""
        WITH flows AS (
            SELECT period, period_start, source, language, post_id,
                   UNNEST(CASE WHEN len(switch_from) > 0 THEN switch_from ELSE ['unknown'] END) AS from_brand,
                   switch_to
            FROM pp
            WHERE list_contains(intents, 'churn_intent') OR len(switch_from) > 0 OR len(switch_to) > 0
        ),
        pairs AS (
            SELECT period, period_start, source, language, post_id, from_brand,
                   UNNEST(CASE WHEN len(switch_to) > 0 THEN switch_to ELSE ['unknown'] END) AS to_brand
            FROM flows
        )
        SELECT period, period_start, {SLICE_COLS}, from_brand, to_brand, COUNT(*) AS posts
        FROM pairs
        WHERE from_brand <> to_brand AND NOT (from_brand = 'unknown' AND to_brand = 'unknown')
        {grouping("period, period_start, from_brand, to_brand")}
    """
    df = _arrow(f, sql).to_pandas()
    df["evidence"] = _evidence_column(
        df, f, ["period", "period_start", "source", "language", "from_brand", "to_brand"]
    )
    return _table(df, MART_SWITCHING)


def _responses(f: Facts) -> None:
    """Eligible audience posts (questions, complaints) with their first brand reply -> ``responses``."""
    if _exists(f, "responses"):
        return
    window = f.settings.response_window_days
    f.con.execute(
        f"""
        CREATE TEMP TABLE responses AS
        WITH RECURSIVE up(reply_at, brand_id, ancestor, depth) AS (
            SELECT created_at, brand_id, reply_to, 1 FROM brand_posts WHERE reply_to IS NOT NULL
            UNION ALL
            SELECT up.reply_at, up.brand_id, p.reply_to, up.depth + 1
            FROM up JOIN posts_f p ON p.post_id = up.ancestor
            WHERE p.reply_to IS NOT NULL AND up.depth < 20
        ),
        eligible AS (
            SELECT * FROM mentions
            WHERE list_contains(intents, 'question') OR list_contains(intents, 'complaint')
        ),
        first_reply AS (
            SELECT e.post_id, e.brand_id, MIN(up.reply_at) AS reply_at
            FROM eligible e JOIN up ON up.ancestor = e.post_id AND up.brand_id = e.brand_id
            WHERE up.reply_at <= e.created_at + INTERVAL {window} DAYS
            GROUP BY ALL
        )
        SELECT e.*, r.reply_at,
               CASE WHEN r.reply_at IS NOT NULL THEN GREATEST(0, epoch(r.reply_at - e.created_at) / 60.0) END
                   AS response_minutes,
               CASE WHEN list_contains(e.intents, 'question') THEN 'question' ELSE 'complaint' END AS kind
        FROM eligible e LEFT JOIN first_reply r USING (post_id, brand_id)
        """
    )


def responsiveness(f: Facts) -> pa.Table:
    _responses(f)
    sql = f"""
        WITH p AS (
            SELECT 'day' AS period, day AS period_start, * FROM responses
            UNION ALL SELECT 'week', week, * FROM responses
        ),
        c AS (
            SELECT {DIM}, {SLICE_COLS}, COUNT(*) AS eligible,
                   COUNT(*) FILTER (kind = 'question') AS questions,
                   COUNT(*) FILTER (kind = 'complaint') AS complaints,
                   COUNT(reply_at) AS answered,
                   quantile_cont(response_minutes, 0.5) AS median_response_minutes,
                   quantile_cont(response_minutes, 0.9) AS p90_response_minutes
            FROM p {grouping(DIM)}
        ),
        slices AS (SELECT DISTINCT period, period_start, source, language FROM c)
        SELECT s.period, s.period_start, b.brand_id, s.source, s.language,
               COALESCE(c.eligible, 0) AS eligible, COALESCE(c.questions, 0) AS questions,
               COALESCE(c.complaints, 0) AS complaints, COALESCE(c.answered, 0) AS answered,
               c.answered / NULLIF(c.eligible, 0) AS response_rate,
               c.median_response_minutes, c.p90_response_minutes,
               json_object('brand_id', b.brand_id, 'period', s.period,
                           'period_start', CAST(s.period_start AS VARCHAR), 'source', s.source,
                           'language', s.language, 'eligible', true, {_bots(f)}) AS evidence
        FROM slices s CROSS JOIN configured_brands b
        LEFT JOIN c ON c.period = s.period AND c.period_start = s.period_start AND c.brand_id = b.brand_id
                   AND c.source = s.source AND c.language = s.language
    """
    return _table(_arrow(f, sql).to_pandas(), MART_RESPONSIVENESS)


def unanswered(f: Facts, text_source: str) -> pa.Table:
    _responses(f)
    sql = f"""
        WITH u AS (SELECT * FROM responses WHERE reply_at IS NULL)
        SELECT u.day AS period_start, u.brand_id, u.post_id, u.created_at, u.source, u.language, u.kind,
               u.author_id, t.text, t.url,
               json_object('post_ids', [u.post_id]) AS evidence
        FROM u JOIN (SELECT post_id, text, url FROM {text_source}
                     WHERE post_id IN (SELECT post_id FROM u)) t USING (post_id)
    """
    return _table(_arrow(f, sql).to_pandas(), MART_UNANSWERED)


def cadence(f: Facts) -> pa.Table:
    sql = f"""
        SELECT {DIM}, {SLICE_COLS}, COUNT(*) AS posts,
               COUNT(*) FILTER (reply_to IS NULL) AS original_posts,
               COUNT(*) FILTER (reply_to IS NOT NULL) AS replies
        FROM pb {grouping(DIM)}
    """
    df = _arrow(f, sql).to_pandas()
    df["evidence"] = _evidence_column(df, f, ROW_KEYS, {"brand_account": True})
    return _table(df, MART_CADENCE)


def audience_activity(f: Facts) -> pa.Table:
    sql = f"""
        SELECT {DIM}, {SLICE_COLS}, weekday, hour, COUNT(*) AS posts
        FROM (SELECT *, isodow(local_ts) AS weekday, hour(local_ts) AS hour FROM pm WHERE period = 'week')
        {grouping(DIM + ", weekday, hour")}
    """
    df = _arrow(f, sql).to_pandas()
    df["evidence"] = _evidence_column(df, f, [*ROW_KEYS, "weekday", "hour"])
    return _table(df, MART_AUDIENCE_ACTIVITY)


def _authors(f: Facts, where: str = "TRUE") -> str:
    """SQL: per period, brand, slice and author, their mentions (authors ranked by posts)."""
    return f"""
        SELECT {DIM}, {SLICE_COLS}, author_id, COUNT(*) AS posts,
               COUNT(*) FILTER (sentiment_label = 'positive') AS positive,
               COUNT(*) FILTER (sentiment_label = 'negative') AS negative,
               MAX(reach) AS reach, CAST(SUM(engagement) AS BIGINT) AS engagement,
               list(post_id ORDER BY created_at, post_id) AS post_ids
        FROM pm WHERE author_id IS NOT NULL AND {where}
        {grouping(DIM + ", author_id")}
    """


def participation(f: Facts) -> pa.Table:
    sql = f"""
        WITH a AS ({_authors(f)}),
        r AS (
            SELECT *, row_number() OVER (PARTITION BY period, period_start, brand_id, source, language
                                         ORDER BY posts DESC, author_id) AS rank,
                   COUNT(*) OVER (PARTITION BY period, period_start, brand_id, source, language) AS n
            FROM a
        ),
        t AS (
            SELECT *, CASE WHEN rank <= ceil(0.01 * n) THEN 'top1'
                           WHEN rank <= ceil(0.10 * n) THEN 'next9' ELSE 'rest90' END AS tier
            FROM r
        )
        SELECT {DIM}, source, language, COUNT(*) AS authors, CAST(SUM(posts) AS BIGINT) AS posts,
               COUNT(*) FILTER (tier = 'top1') AS top1_authors,
               COALESCE(SUM(posts) FILTER (tier = 'top1'), 0) / SUM(posts) AS top1_share,
               COUNT(*) FILTER (tier = 'next9') AS next9_authors,
               COALESCE(SUM(posts) FILTER (tier = 'next9'), 0) / SUM(posts) AS next9_share,
               COUNT(*) FILTER (tier = 'rest90') AS rest90_authors,
               COALESCE(SUM(posts) FILTER (tier = 'rest90'), 0) / SUM(posts) AS rest90_share
        FROM t GROUP BY ALL
    """
    df = _arrow(f, sql).to_pandas()
    df["evidence"] = _evidence_column(df, f, ROW_KEYS, {"has_author": True})
    return _table(df, MART_PARTICIPATION)


def top_voices(f: Facts) -> pa.Table:
    sql = f"""
        WITH a AS (
            SELECT *, CASE WHEN positive > negative THEN 'advocate'
                           WHEN negative > positive THEN 'critic' END AS role
            FROM ({_authors(f, "period = 'week'")})
        ),
        r AS (
            SELECT *, row_number() OVER (PARTITION BY period, period_start, brand_id, source, language, role
                                         ORDER BY posts DESC, reach DESC NULLS LAST, author_id) AS rank
            FROM a WHERE role IS NOT NULL
        )
        SELECT *, json_object('post_ids', post_ids) AS evidence FROM r WHERE rank <= {int(f.settings.top_voices)}
    """
    return _table(_arrow(f, sql).to_pandas(), MART_TOP_VOICES)


def spikes(f: Facts) -> pa.Table:
    _mention_cells(f)
    if f.grid_start is None:
        return MART_SPIKES.empty()
    s = f.settings
    sql = f"""
        WITH series AS (
            SELECT DISTINCT brand_id, source, language FROM cells
            WHERE period = 'day' AND (source = '*' OR language = '*')
        ),
        days AS (SELECT CAST(d AS DATE) AS period_start
                 FROM generate_series($lo::DATE, $hi::DATE, INTERVAL 1 DAY) t(d)),
        g AS (
            SELECT d.period_start, s.brand_id, s.source, s.language,
                   COALESCE(c.mentions, 0) AS mentions, COALESCE(c.negative, 0) AS negative
            FROM days d CROSS JOIN series s
            LEFT JOIN cells c ON c.period = 'day' AND c.period_start = d.period_start
                 AND c.brand_id = s.brand_id AND c.source = s.source AND c.language = s.language
        ),
        b AS (
            SELECT *, COUNT(*) OVER w AS base_days, median(mentions) OVER w AS base_median,
                   mad(mentions) OVER w AS base_mad, SUM(mentions) OVER w AS base_mentions,
                   SUM(negative) OVER w AS base_negative
            FROM g
            WINDOW w AS (PARTITION BY brand_id, source, language ORDER BY period_start
                         RANGE BETWEEN INTERVAL {s.spike_baseline_days} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
        ),
        z AS (
            SELECT *,
                   (mentions - base_median) / GREATEST(1.4826 * base_mad, sqrt(GREATEST(base_median, 1)))
                       AS volume_score,
                   LEAST(GREATEST(base_negative / NULLIF(base_mentions, 0), 0.02), 0.98) AS p0
            FROM b WHERE base_days >= {s.spike_baseline_days // 2}
        ),
        flagged AS (
            SELECT period_start, brand_id, source, language, 'volume' AS metric, mentions::DOUBLE AS value,
                   base_median::DOUBLE AS baseline, volume_score AS score, mentions
            FROM z WHERE mentions >= {s.spike_min_mentions} AND volume_score >= {s.spike_threshold}
            UNION ALL
            SELECT period_start, brand_id, source, language, 'negative_share', negative / mentions, p0,
                   (negative - mentions * p0) / sqrt(mentions * p0 * (1 - p0)), mentions
            FROM z WHERE mentions >= {s.spike_min_mentions}
              AND (negative - mentions * p0) / sqrt(mentions * p0 * (1 - p0)) >= {s.spike_threshold}
        ),
        drivers AS (
            SELECT fl.period_start, fl.brand_id, fl.source, fl.language, fl.metric,
                   list(m.post_id ORDER BY m.engagement DESC, m.post_id)[1:5] AS driver_post_ids
            FROM flagged fl JOIN mentions m
              ON m.day = fl.period_start AND m.brand_id = fl.brand_id
             AND (fl.source = '*' OR m.source = fl.source) AND (fl.language = '*' OR m.language = fl.language)
             AND (fl.metric = 'volume' OR m.sentiment_label = 'negative')
            GROUP BY ALL
        ),
        pains AS (
            SELECT period_start, brand_id, source, language, list(pain ORDER BY n DESC, pain)[1:3] AS top_pain_points
            FROM (
                SELECT period_start, brand_id, source, language, pain, COUNT(*) AS n
                FROM (
                    SELECT fl.period_start, fl.brand_id, fl.source, fl.language, UNNEST(m.pains) AS pain
                    FROM (SELECT DISTINCT period_start, brand_id, source, language FROM flagged) fl
                    JOIN mentions m ON m.day = fl.period_start AND m.brand_id = fl.brand_id
                     AND (fl.source = '*' OR m.source = fl.source)
                     AND (fl.language = '*' OR m.language = fl.language)
                ) GROUP BY ALL
            ) GROUP BY ALL
        )
        SELECT 'day' AS period, fl.*, COALESCE(d.driver_post_ids, []) AS driver_post_ids,
               COALESCE(p.top_pain_points, []) AS top_pain_points,
               json_object('brand_id', fl.brand_id, 'period', 'day', 'period_start', CAST(fl.period_start AS VARCHAR),
                           'source', fl.source, 'language', fl.language, {_bots(f)}) AS evidence
        FROM flagged fl
        LEFT JOIN drivers d USING (period_start, brand_id, source, language, metric)
        LEFT JOIN pains p USING (period_start, brand_id, source, language)
    """
    params = {"lo": f.grid_start, "hi": f.grid_end}
    return _table(_arrow(f, sql, params).to_pandas(), MART_SPIKES)


MART_BUILDERS: dict[str, Callable[..., pa.Table]] = {
    MART_BRAND_VOLUME.name: brand_volume,
    MART_BRAND_KPIS.name: brand_kpis,
    MART_PAIN_POINTS.name: pain_points,
    MART_PAIN_POINT_GAPS.name: pain_point_gaps,
    MART_MOTIVES.name: motives,
    MART_MOTIVE_GAP.name: motive_gap,
    MART_AUDIENCE_TONE.name: audience_tone,
    MART_BRAND_VOICE.name: brand_voice,
    MART_INTENTS.name: intents,
    MART_SWITCHING.name: switching,
    MART_RESPONSIVENESS.name: responsiveness,
    MART_UNANSWERED.name: unanswered,
    MART_CADENCE.name: cadence,
    MART_AUDIENCE_ACTIVITY.name: audience_activity,
    MART_PARTICIPATION.name: participation,
    MART_TOP_VOICES.name: top_voices,
    MART_SPIKES.name: spikes,
}

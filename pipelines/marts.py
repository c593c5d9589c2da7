"""Marts: the comparisons, computed with DuckDB SQL over the enriched layer.

Definitions (also in docs/metrics.md):

* A **mention** is an audience post (not written by a brand account) that is about the brand; a post
  about two brands is a mention of each.
* **Volume** is the number of mentions per brand, period (day, or ISO week starting Monday, in the
  project timezone), source and language.
* **Share of voice** is a brand's mentions divided by the mentions of all configured brands in the
  same period; the change is in percentage points against the previous period.

Every row carries an ``evidence`` filter (JSON) that ``evidence_posts`` turns back into the posts
behind the number.
"""

from __future__ import annotations

import json
import logging
import time

import duckdb
import pyarrow as pa

from pipelines.contracts import conform
from pipelines.project import Project
from pipelines.storage import ENRICHED
from pipelines.validation import validate
from schemas.tables import MART_BRAND_VOLUME, MART_SHARE_OF_VOICE, MARTS

log = logging.getLogger(__name__)


def _connect(project: Project) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [project.config.timezone])
    brands = pa.table({"brand_id": [b.id for b in project.config.brands]})
    con.register("configured_brands", brands)
    glob = project.storage.parquet_glob(ENRICHED)
    con.execute(f"CREATE VIEW enriched AS SELECT * FROM read_parquet('{glob}', union_by_name = true)")
    return con


def _mentions_sql() -> str:
    # One row per (audience post, brand it mentions), with the local day and ISO week start.
    return """
        SELECT e.post_id, e.source, e.language, b.brand_id,
               CAST(timezone(current_setting('TimeZone'), e.created_at) AS DATE) AS day
        FROM enriched e, UNNEST(e.brands) AS b(brand_id)
        WHERE NOT e.is_brand_account AND NOT e.is_deleted
          AND b.brand_id IN (SELECT brand_id FROM configured_brands)
    """


def build_brand_volume(con: duckdb.DuckDBPyConnection) -> pa.Table:
    sql = f"""
        WITH m AS ({_mentions_sql()}),
        periods AS (
            SELECT 'day' AS period, day AS period_start, brand_id, source, language FROM m
            UNION ALL
            SELECT 'week', CAST(date_trunc('week', day) AS DATE), brand_id, source, language FROM m
        )
        SELECT period, period_start, brand_id, source, language, COUNT(*) AS mentions,
               json_object('brand_id', brand_id, 'source', source, 'language', language,
                           'period', period, 'period_start', CAST(period_start AS VARCHAR)) AS evidence
        FROM periods
        GROUP BY ALL
        ORDER BY period, period_start, brand_id, source, language
    """
    return conform(con.sql(sql).to_arrow_table(), MART_BRAND_VOLUME)


def build_share_of_voice(con: duckdb.DuckDBPyConnection) -> pa.Table:
    # Every configured brand appears in every period that has any mention (zero when silent).
    sql = """
        WITH v AS (
            SELECT period, period_start, brand_id, SUM(mentions) AS mentions
            FROM brand_volume GROUP BY ALL
        ),
        grid AS (
            SELECT p.period, p.period_start, b.brand_id
            FROM (SELECT DISTINCT period, period_start FROM v) p CROSS JOIN configured_brands b
        ),
        filled AS (
            SELECT g.period, g.period_start, g.brand_id, COALESCE(v.mentions, 0) AS mentions
            FROM grid g LEFT JOIN v USING (period, period_start, brand_id)
        ),
        shares AS (
            SELECT *, SUM(mentions) OVER (PARTITION BY period, period_start) AS total_mentions
            FROM filled
        ),
        with_share AS (
            SELECT *, CASE WHEN total_mentions > 0 THEN mentions / total_mentions ELSE 0 END AS share_of_voice
            FROM shares
        )
        SELECT period, period_start, brand_id, CAST(mentions AS BIGINT) AS mentions,
               CAST(total_mentions AS BIGINT) AS total_mentions, share_of_voice,
               CAST(LAG(mentions) OVER w AS BIGINT) AS mentions_prev,
               LAG(share_of_voice) OVER w AS share_of_voice_prev,
               100 * (share_of_voice - LAG(share_of_voice) OVER w) AS share_change_pts,
               json_object('brand_id', brand_id, 'period', period,
                           'period_start', CAST(period_start AS VARCHAR)) AS evidence
        FROM with_share
        WINDOW w AS (PARTITION BY period, brand_id ORDER BY period_start)
        ORDER BY period, period_start, brand_id
    """
    return conform(con.sql(sql).to_arrow_table(), MART_SHARE_OF_VOICE)


def build_marts(project: Project) -> dict:
    """Rebuild every mart from the enriched layer; validate; write atomically."""
    storage = project.storage
    if not storage.glob(f"{ENRICHED}/date=*/enriched.parquet"):
        raise RuntimeError("the enriched layer is empty: run ingestion and enrichment first")
    started = time.perf_counter()
    con = _connect(project)
    volume = build_brand_volume(con)
    con.register("brand_volume", volume)
    share = build_share_of_voice(con)
    results = {MART_BRAND_VOLUME.name: volume, MART_SHARE_OF_VOICE.name: share}
    for name, table in results.items():
        validate(table, MARTS[name], label=name)
    _check_share_sums(con, share)
    for name, table in results.items():
        storage.write_parquet(storage.mart_path(name), table)
    elapsed = time.perf_counter() - started
    log.info("built %d marts in %.1f s", len(results), elapsed)
    return {"marts": {name: t.num_rows for name, t in results.items()}, "seconds": round(elapsed, 2)}


def _check_share_sums(con: duckdb.DuckDBPyConnection, share: pa.Table) -> None:
    con.register("share", share)
    sums = con.sql(
        "SELECT period, period_start, SUM(share_of_voice) s FROM share GROUP BY ALL HAVING abs(s - 1) > 1e-9"
    ).fetchall()
    if sums:
        raise RuntimeError(f"share of voice does not sum to 1 in {len(sums)} period(s), e.g. {sums[0]}")


def evidence_posts(project: Project, evidence: str | dict, limit: int = 100) -> pa.Table:
    """The audience posts behind a mart row (its ``evidence`` filter)."""
    spec = json.loads(evidence) if isinstance(evidence, str) else evidence
    con = _connect(project)
    where = ["list_contains(e.brands, $brand_id)", "NOT e.is_brand_account", "NOT e.is_deleted"]
    params = {"brand_id": spec["brand_id"], "start": spec["period_start"], "limit": limit}
    unit = "week" if spec["period"] == "week" else "day"
    where.append(
        f"CAST(timezone(current_setting('TimeZone'), e.created_at) AS DATE) >= CAST($start AS DATE) "
        f"AND CAST(timezone(current_setting('TimeZone'), e.created_at) AS DATE) "
        f"< CAST($start AS DATE) + INTERVAL 1 {unit}"
    )
    for key in ("source", "language"):
        if key in spec:
            where.append(f"e.{key} = ${key}")
            params[key] = spec[key]
    sql = f"SELECT e.post_id, e.created_at, e.source, e.language, e.text, e.url FROM enriched e WHERE {' AND '.join(where)} ORDER BY e.created_at LIMIT $limit"
    return con.sql(sql, params=params).to_arrow_table()

"""Data access for the dashboard: DuckDB over the marts, cached per data version."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import duckdb
import pandas as pd
import streamlit as st

from pipelines.project import Project, open_project
from schemas.tables import MART_BRAND_VOLUME


@st.cache_resource
def _project(config_path: str | None) -> Project:
    return open_project(config_path)


def project() -> Project:
    """The project named by $LISTENING_CONFIG (loaded once per config file)."""
    return _project(os.environ.get("LISTENING_CONFIG"))


def data_version(proj: Project) -> str:
    """Changes whenever a mart is rewritten; part of every cache key."""
    paths = proj.storage.glob("marts/*/data.parquet")
    return "|".join(f"{p}:{proj.storage.fs.info(p).get('mtime', '')}" for p in paths)


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    brands: tuple[str, ...]
    sources: tuple[str, ...]
    languages: tuple[str, ...]


def _volume_path(proj: Project) -> str:
    return proj.storage.mart_path(MART_BRAND_VOLUME.name)


@st.cache_data(ttl=600, show_spinner=False)
def filter_options(version: str) -> dict:
    proj = project()  # the version string names the mart files, so the cache is per project too
    path = _volume_path(proj)
    if not proj.storage.exists(path):
        return {}
    con = duckdb.connect()
    row = con.execute(
        f"SELECT MIN(period_start), MAX(period_start) FROM read_parquet('{path}') WHERE period = 'day'"
    ).fetchone()
    sources = [
        r[0] for r in con.execute(f"SELECT DISTINCT source FROM read_parquet('{path}') ORDER BY 1").fetchall()
    ]
    languages = [
        r[0] for r in con.execute(
            f"SELECT language, SUM(mentions) n FROM read_parquet('{path}') GROUP BY 1 ORDER BY n DESC"
        ).fetchall()
    ]  # fmt: skip
    return {"start": row[0], "end": row[1], "sources": sources, "languages": languages}


@st.cache_data(ttl=600, show_spinner=False)
def volume_and_share(version: str, period: str, filters: Filters) -> pd.DataFrame:
    """Mentions and share of voice per brand and period under the filters (shares among selected brands)."""
    proj = project()
    sql = """
        WITH v AS (
            SELECT period_start, brand_id, SUM(mentions) AS mentions
            FROM read_parquet($path)
            WHERE period = $period AND period_start BETWEEN $start AND $end
              AND list_contains($brands, brand_id) AND list_contains($sources, source)
              AND list_contains($languages, language)
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
    params = {
        "path": _volume_path(proj),
        "period": period,
        "start": filters.start
        if period == "day"
        else filters.start - dt.timedelta(days=filters.start.weekday()),
        "end": filters.end,
        "brands": list(filters.brands),
        "sources": list(filters.sources),
        "languages": list(filters.languages),
    }
    return duckdb.connect().execute(sql, params).df()

"""
### listening_marts

enriched_posts -> marts (DuckDB SQL). Scheduled on the `listening_enriched` asset; every mart is
validated with Great Expectations before it replaces the previous one. Emits `listening_marts`.
Without Airflow: `listening marts`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from pipelines.assets import DAG_DEFAULTS, layer_assets
from pipelines.marts import build_marts
from pipelines.project import open_project

ASSETS = layer_assets(open_project())


@dag(
    schedule=[ASSETS["enriched"]],
    tags=["listening", "marts"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def listening_marts():
    @task(outlets=[ASSETS["marts"]])
    def marts() -> dict:
        return build_marts(open_project())

    marts()


listening_marts()

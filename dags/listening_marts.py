"""
### listening_marts

enriched_posts -> marts (DuckDB SQL; definitions in docs/metrics.md). Scheduled on the
`listening_enriched` asset; recomputes only the periods new enriched days touch (trigger with
`{"full": true}` to rebuild everything); every mart is validated with Great Expectations before it
replaces the previous one. Emits `listening_marts`. Without Airflow: `listening marts [--full]`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from pipelines.assets import DAG_DEFAULTS, layer_assets
from pipelines.marts import build_marts
from pipelines.project import open_project

ASSETS = layer_assets(open_project())


@dag(
    schedule=[ASSETS["enriched"]],
    tags=["listening", "marts"],
    doc_md=__doc__,
    params={"full": Param(False, type="boolean", description="Rebuild every period, not only new days.")},
    **DAG_DEFAULTS,
)
def listening_marts():
    @task(outlets=[ASSETS["marts"]])
    def marts(params: dict | None = None) -> dict:
        return build_marts(open_project(), full=bool((params or {}).get("full")))

    marts()


listening_marts()

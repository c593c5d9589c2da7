"""
### listening_enrich

posts -> enriched_posts. Scheduled on the `listening_posts` asset. Rebuilds only the date partitions
whose posts (or NLP version, or brand config) changed, in one process so models load once.
Emits `listening_enriched`. Without Airflow: `listening enrich`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from nlp.enrich import enrich_pending
from pipelines.assets import DAG_DEFAULTS, layer_assets
from pipelines.project import open_project

ASSETS = layer_assets(open_project())


@dag(
    schedule=[ASSETS["posts"]],
    tags=["listening", "nlp"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def listening_enrich():
    @task(outlets=[ASSETS["enriched"]])
    def enrich() -> dict:
        return enrich_pending(open_project())

    enrich()


listening_enrich()

"""
### listening_enrich

posts -> enriched_posts. Scheduled on the `listening_posts` asset. Rebuilds only the date partitions
whose posts (or NLP version, or brand config) changed, in one process so models load once.
Emits `listening_enriched`. Without Airflow: `listening enrich`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from nlp.enrich import enrich_pending
from pipelines.assets import layer_assets
from pipelines.project import open_project

ASSETS = layer_assets(open_project())


@dag(
    schedule=[ASSETS["posts"]],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "nlp"],
    doc_md=__doc__,
)
def listening_enrich():
    @task(outlets=[ASSETS["enriched"]])
    def enrich() -> dict:
        return enrich_pending(open_project())

    enrich()


listening_enrich()

"""
### listening_ingest

Sources -> raw -> posts. One mapped task per enabled source lands its records in the raw layer,
normalises them to `posts` (Great Expectations validates every write) and quarantines what cannot be
used, with the reason. `publish` then emits the `listening_posts` asset, which schedules
`listening_enrich`. The same steps run without Airflow: `listening ingest`.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from pipelines import ingest
from pipelines.assets import DAG_DEFAULTS, layer_assets
from pipelines.project import open_project

ASSETS = layer_assets(open_project())


@dag(
    schedule="@daily",
    tags=["listening", "ingest"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def listening_ingest():
    @task
    def plan_sources() -> list[str]:
        return ingest.enabled_sources(open_project())

    @task(map_index_template="{{ source_name }}")
    def ingest_source(source: str) -> dict:
        get_current_context()["source_name"] = source  # names the mapped task instance in the UI
        return ingest.ingest_summary(ingest.ingest_source(open_project(), source))

    @task(outlets=[ASSETS["posts"]])
    def publish(results: list[dict]) -> dict:
        return ingest.combine_summaries(results)

    publish(ingest_source.expand(source=plan_sources()))


listening_ingest()

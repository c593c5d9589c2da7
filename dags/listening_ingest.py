"""
### listening_ingest

Sources -> raw -> posts. One mapped task per enabled source (file exports and live connectors:
docs/connectors.md) lands its records in the raw layer, normalises them to `posts` (Great Expectations
validates every write) and quarantines what cannot be used, with the reason. A live source without
credentials is skipped with the reason; one that is down fails its own task, not the others.
`publish` then emits the `listening_posts` asset for what landed, which schedules `listening_enrich`.
The same steps run without Airflow: `listening ingest [--source NAME] [--since ...] [--until ...]`.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

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

    @task(map_index_template="{{ source_name }}", max_active_tis_per_dagrun=4)
    def ingest_source(source: str) -> dict:
        get_current_context()["source_name"] = source  # names the mapped task instance in the UI
        result = ingest.ingest_summary(ingest.ingest_source(open_project(), source))
        if "skipped" in result:
            raise AirflowSkipException(f"{source}: {result['skipped']}")
        return result

    @task(outlets=[ASSETS["posts"]], trigger_rule="all_done")
    def publish(results: list[dict]) -> dict:
        return ingest.combine_summaries(r for r in results if r)

    @task
    def all_sources_ok() -> None:
        """Runs only when no source failed: a failed source leaves this upstream_failed, so the run
        fails loudly even though ``publish`` delivered what the other sources landed."""

    results = ingest_source.expand(source=plan_sources())
    publish(results)
    results >> all_sources_ok()


listening_ingest()

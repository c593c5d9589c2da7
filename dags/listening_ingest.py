"""
### listening_ingest

Sources -> raw -> posts. `plan` lists the work: one mapped `land` task per (live source, query) and
per file source (docs/connectors.md). Each lands its records in the raw layer (a live query its window,
once; its high-water mark moves on); `normalise` turns every landed batch into `posts` (Great
Expectations validates every write) and quarantines what cannot be used, with the reason. A live
source without credentials is skipped with the reason; a query whose source is down fails its own task,
not the others. `publish` emits the `listening_posts` asset for what landed, which schedules
`listening_enrich`, and `all_sources_ok` marks the run failed if anything failed.
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
    def plan() -> list[dict]:
        return ingest.plan_work(open_project())

    @task(map_index_template="{{ work_name }}", max_active_tis_per_dagrun=ingest.PARALLEL_QUERIES)
    def land(item: dict) -> dict:
        get_current_context()["work_name"] = " ".join(filter(None, (item["source"], item.get("query"))))
        if item.get("skipped"):
            raise AirflowSkipException(f"{item['source']}: {item['skipped']}")
        return ingest.land_work(open_project(), item)

    @task(trigger_rule="all_done")
    def normalise(landed: list[dict]) -> list[dict]:
        return ingest.normalise_landed(open_project(), landed)

    @task(outlets=[ASSETS["posts"]])
    def publish(results: list[dict]) -> dict:
        return ingest.combine_summaries(results)

    @task
    def all_sources_ok() -> None:
        """Runs only when no source failed: a failed (source, query) leaves this upstream_failed, so the
        run fails loudly even though ``publish`` delivered what the others landed."""

    landed = land.expand(item=plan())
    publish(normalise(landed))
    landed >> all_sources_ok()


listening_ingest()

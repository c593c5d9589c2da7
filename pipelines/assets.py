"""What the DAG files share: Assets for the storage layers (DAGs pass locations, never data) and
the scheduling settings every listening DAG uses."""

from __future__ import annotations

import pendulum

from pipelines.project import Project

# One run at a time (runs write the same partitions); no backfill of missed intervals by default.
DAG_DEFAULTS = {
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "max_active_runs": 1,
}

PUBLISHED_LAYERS = ("posts", "enriched", "marts")


def layer_assets(project: Project) -> dict:
    from airflow.sdk import Asset

    return {
        layer: Asset(name=f"listening_{layer}", uri=project.storage.uri(layer), group="listening")
        for layer in PUBLISHED_LAYERS
    }

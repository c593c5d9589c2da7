"""Airflow Assets for the storage layers: the DAGs pass locations, never data."""

from __future__ import annotations

from pipelines.project import Project

PUBLISHED_LAYERS = ("posts", "enriched", "marts")


def layer_assets(project: Project) -> dict:
    from airflow.sdk import Asset

    return {
        layer: Asset(name=f"listening_{layer}", uri=project.storage.uri(layer), group="listening")
        for layer in PUBLISHED_LAYERS
    }

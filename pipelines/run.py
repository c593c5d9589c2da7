"""``listening run``: the three DAGs' work in one process, in order, without Airflow."""

from __future__ import annotations

import logging
import time

from pipelines.ingest import enabled_sources, ingest_source
from pipelines.project import Project

log = logging.getLogger(__name__)


def run_all(project: Project) -> dict:
    from nlp.enrich import enrich_pending
    from pipelines.marts import build_marts

    started = time.perf_counter()
    ingested = []
    failures = {}
    for name in enabled_sources(project):
        try:
            result = ingest_source(project, name)
        except Exception as exc:  # one broken source must not stop the others; reported below
            log.error("source %s failed: %s", name, exc)
            failures[name] = str(exc)
            continue
        result.pop("batches", None)
        ingested.append(result)
    enriched = enrich_pending(project)
    marts = build_marts(project)
    summary = {
        "ingest": ingested,
        "enrich": {"partitions": len(enriched["dates"]), "rows": enriched["rows"]},
        "marts": marts["marts"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    if failures:
        summary["failed_sources"] = failures
        raise RuntimeError(f"sources failed: {failures} (the others were processed: {summary})")
    return summary

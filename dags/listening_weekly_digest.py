"""
### listening_weekly_digest

The weekly insight digest (docs/digest.md): every week on `digest.weekday` at `digest.hour` in the
project timezone, the digest of the ISO week that just ended is built from the marts, archived under
`digests/<week>/` (HTML, Markdown, PDF, the week's marts as CSV and Parquet) and sent by email (SMTP
Airflow Connection `digest.email.conn_id`) and Slack (webhook in `digest.slack.webhook_env`) when
configured, once per week (`{"force": true}` sends again; `{"week": "2026-W14"}` picks a week).
Catchup is on, so past weeks can be backfilled (`airflow backfill create`); weeks before the data
starts are skipped. Without Airflow: `listening digest --week 2026-W14 [--force] [--no-deliver]`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines.assets import DAG_DEFAULTS, layer_assets
from pipelines.digest import NoDataError, build_digest, digest_cron, week_before
from pipelines.project import open_project

PROJECT = open_project()
ASSETS = layer_assets(PROJECT)


@dag(
    schedule=CronTriggerTimetable(digest_cron(PROJECT.config), timezone=PROJECT.config.timezone),
    tags=["listening", "digest"],
    doc_md=__doc__,
    params={
        "week": Param("", type="string", description="ISO week (2026-W14); empty: the week before the run."),
        "force": Param(False, type="boolean", description="Send again to channels that already had it."),
    },
    **(DAG_DEFAULTS | {"catchup": True}),
)
def listening_weekly_digest():
    @task(inlets=[ASSETS["marts"]])
    def digest(params: dict | None = None, logical_date=None, dag_run=None) -> dict:
        project = open_project()
        moment = logical_date or dag_run.run_after
        week = (params or {}).get("week") or week_before(moment, project.config.timezone)
        try:
            return build_digest(project, week, force=bool((params or {}).get("force")))
        except NoDataError as exc:
            raise AirflowSkipException(str(exc)) from None

    digest()


listening_weekly_digest()

"""The weekly insight digest: the marts of one ISO week in plain language, archived and delivered.

* ``available_weeks(project)``: ISO weeks with data, newest first;
* ``render_digest(project, week)``: a ``Rendered`` digest (``.html`` self-contained, ``.markdown``,
  ``.pdf``, ``.slack``, ``.content``) without writing or sending anything (the dashboard preview);
* ``build_digest(project, week, deliver=True, force=False)``: archive under ``digests/<week>/`` and
  deliver by email and Slack once per week (the DAG ``listening_weekly_digest`` and
  ``listening digest --week``).

Sections, rules, configuration and delivery: docs/digest.md.
"""

from pipelines.digest.build import build_digest, csv_bytes, render_digest
from pipelines.digest.data import (
    DigestError,
    NoDataError,
    available_weeks,
    digest_cron,
    next_run_after_data,
    parse_week,
    week_before,
    week_name,
)
from pipelines.digest.deliver import DeliveryError
from pipelines.digest.render import Rendered

__all__ = [
    "DeliveryError", "DigestError", "NoDataError", "Rendered", "available_weeks", "build_digest", "csv_bytes",
    "digest_cron", "next_run_after_data", "parse_week", "render_digest", "week_before", "week_name",
]  # fmt: skip

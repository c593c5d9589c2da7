"""The marts of one ISO week, read once for a digest (and exported with it).

A week is named the ISO way, ``2026-W40`` (Monday 2026-09-28 .. Sunday 2026-10-04 in the project
timezone, the same weeks the marts use). ``load_week`` reads, from every mart and ``themes``, the rows
whose ``period_start`` falls in the week (week rows and the day rows inside it), plus the previous week
and the trailing weeks of ``mart_brand_kpis`` for the trend chart. Reads push the filter down into the
Parquet files, so a digest reads only the row groups it needs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipelines.project import Project
from schemas.tables import MART_BRAND_KPIS, MARTS, THEMES

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
TREND_WEEKS = 8
EXPORTED = (*MARTS, THEMES.name)


class DigestError(RuntimeError):
    """The digest cannot be built as asked; the message says why and what to do."""


class NoDataError(DigestError):
    """The week has no data in the marts (a scheduled run before the data starts is skipped)."""


CRON_WEEKDAYS = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 0,
}


def digest_cron(config) -> str:
    """Cron expression of the digest schedule (``digest.weekday`` and ``digest.hour``, project timezone)."""
    return f"0 {config.digest.hour} * * {CRON_WEEKDAYS[config.digest.weekday]}"


def week_before(moment: dt.datetime, timezone: str) -> str:
    """The ISO week that ended before a scheduled run: the week of the run's local day minus 7 days."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(timezone)).date() if moment.tzinfo else moment.date()
    return week_name(local - dt.timedelta(days=7))


def parse_week(week: str) -> dt.date:
    """Monday of an ISO week given as ``YYYY-Www``."""
    match = WEEK_RE.match(str(week).strip())
    if not match:
        raise DigestError(f"week {week!r} is not an ISO week like 2026-W14")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        return dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise DigestError(f"week {week!r} does not exist (year {year} has no week {number})") from None


def week_name(day: dt.date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _read(project: Project, name: str, flt: ds.Expression | None = None, columns=None) -> pa.Table:
    storage = project.storage
    path = storage.mart_path(name)
    if not storage.exists(path):
        if name == THEMES.name:  # written by the enrichment; a project without complaints has none
            table = THEMES.empty()
            return table.filter(flt) if flt is not None else table
        raise DigestError(f"mart {name} is missing under {storage.uri('marts')}: run `listening marts` first")
    return storage.read_parquet(path, filters=flt, columns=columns)


def _all_slices() -> ds.Expression:
    return (ds.field("source") == "*") & (ds.field("language") == "*")


def available_weeks(project: Project) -> list[str]:
    """ISO weeks with any brand mention in the marts, newest first."""
    table = _read(
        project,
        MART_BRAND_KPIS.name,
        (ds.field("period") == "week") & _all_slices() & (ds.field("mentions") > 0),
        columns=["period_start"],
    )
    days = sorted(set(table.column("period_start").to_pylist()), reverse=True)
    return [week_name(d) for d in days]


def next_run_after_data(project: Project) -> str:
    """When the schedule next runs after the newest week of data (ISO, with offset): the moment a run
    that digests that week fires, e.g. for ``airflow dags test listening_weekly_digest <moment>``."""
    from zoneinfo import ZoneInfo

    weeks = available_weeks(project)
    if not weeks:
        raise NoDataError("no week has data yet: run the pipeline first")
    config = project.config
    offset = (CRON_WEEKDAYS[config.digest.weekday] - 1) % 7  # days after Monday
    day = parse_week(weeks[0]) + dt.timedelta(days=7 + offset)
    moment = dt.datetime.combine(day, dt.time(config.digest.hour), tzinfo=ZoneInfo(config.timezone))
    return moment.isoformat()


@dataclass
class WeekData:
    """Rows of every mart for one week (all slices), and the few extra rows the digest compares with."""

    week: str
    start: dt.date
    end: dt.date
    marts: dict[str, pa.Table]
    previous: dict[str, pa.Table] = field(default_factory=dict)  # week rows of the week before, '*' slices
    trend: pa.Table | None = None  # mart_brand_kpis week rows, '*' slices, TREND_WEEKS weeks to this one

    def rows(self, name: str, *, period: str | None = "week", all_slices: bool = True) -> list[dict]:
        """Rows of a mart for this week as dicts (``period`` None: every period in the week)."""
        table = self.marts[name]
        mask = None
        if period is not None and "period" in table.column_names:
            mask = pc.equal(table.column("period"), period)
        if all_slices and "source" in table.column_names and "language" in table.column_names:
            both = pc.and_(pc.equal(table.column("source"), "*"), pc.equal(table.column("language"), "*"))
            mask = both if mask is None else pc.and_(mask, both)
        if period == "week" and "period_start" in table.column_names:
            monday = pc.equal(table.column("period_start"), pa.scalar(self.start, pa.date32()))
            mask = monday if mask is None else pc.and_(mask, monday)
        return (table.filter(mask) if mask is not None else table).to_pylist()


def load_week(project: Project, week: str) -> WeekData:
    """Every mart's rows for ``week``; a clear error when the marts are missing or the week has no data."""
    start = parse_week(week)
    end = start + dt.timedelta(days=6)
    weeks = available_weeks(project)
    if week_name(start) not in weeks:
        have = f"{weeks[-1]} .. {weeks[0]}" if weeks else "none (run `listening marts` first)"
        raise NoDataError(f"week {week_name(start)} has no data in the marts (weeks with data: {have})")
    in_week = (ds.field("period_start") >= pa.scalar(start, pa.date32())) & (
        ds.field("period_start") <= pa.scalar(end, pa.date32())
    )
    marts = {name: _read(project, name, in_week) for name in EXPORTED}
    prev_start = pa.scalar(start - dt.timedelta(days=7), pa.date32())
    previous = {}
    for name in ("mart_responsiveness", "mart_switching"):
        previous[name] = _read(
            project,
            name,
            (ds.field("period") == "week") & (ds.field("period_start") == prev_start) & _all_slices(),
        )
    trend = _read(
        project,
        MART_BRAND_KPIS.name,
        (ds.field("period") == "week")
        & _all_slices()
        & (ds.field("period_start") >= pa.scalar(start - dt.timedelta(weeks=TREND_WEEKS - 1), pa.date32()))
        & (ds.field("period_start") <= pa.scalar(start, pa.date32())),
        columns=["period_start", "brand_id", "mentions", "share_of_voice", "net_sentiment"],
    ).sort_by([("period_start", "ascending"), ("brand_id", "ascending")])
    return WeekData(week_name(start), start, end, marts, previous, trend)

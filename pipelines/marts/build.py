"""Building the marts: full or incremental, validated, written atomically.

A build compares the enriched partitions with those the last build saw (``state/marts.json``). When
only some days changed it recomputes just the periods those days can affect and replaces them in each
mart; anything else (first build, changed settings or contracts, a missing mart, ``full=True``)
rebuilds everything. Both paths run the same SQL over the same days, so they give identical marts.

Which periods a changed day touches (local days; a UTC partition can hold the local day before or
after): its own day and week; earlier questions it may answer (``response_window_days`` back); and the
periods whose comparison windows include it: the next day and week (change vs previous period), the
spike baseline (``spike_baseline_days``) and the brand-voice consistency window (7 weeks). The facts
read reach back and forward far enough that every kept period sees all the data it depends on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import asdict

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.marts.facts import Settings, enriched_source, open_facts
from pipelines.marts.metrics import MART_BUILDERS, unanswered
from pipelines.project import Project
from pipelines.storage import ENRICHED, STATE, parquet_bytes, partition_value
from pipelines.validation import validate
from schemas.tables import MART_BRAND_KPIS, MART_PARTICIPATION, MARTS, Table, col

log = logging.getLogger(__name__)

STATE_FILE = "marts.json"
# Bump when a metric's definition changes, so the next build is a full one.
LOGIC_VERSION = 2
VOICE_WINDOW_DAYS = 49  # the brand-voice consistency window: this week and the 7 before

SHARE_SUMS = Table(
    name="check_share_sums",
    version=1,
    doc="Check: shares of a partition (period and slice) sum to 1.",
    schema=pa.schema([
        col("period", pa.string(), nullable=False),
        col("period_start", pa.date32(), nullable=False),
        col("source", pa.string(), nullable=False),
        col("language", pa.string(), nullable=False),
        col("share_sum", pa.float64(), nullable=False, min=1 - 1e-6, max=1 + 1e-6),
    ]),
)  # fmt: skip


def _signature(settings: Settings) -> str:
    versions = {name: table.version for name, table in MARTS.items()}
    blob = json.dumps(
        {"settings": asdict(settings), "marts": versions, "logic": LOGIC_VERSION}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _partitions(project: Project) -> dict[str, str]:
    storage = project.storage
    out = {}
    for path in storage.glob(f"{ENRICHED}/date=*/enriched.parquet"):
        info = storage.fs.info(path)
        out[partition_value(path, "date")] = (
            f"{info.get('size')}:{info.get('mtime') or info.get('LastModified')}"
        )
    return out


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def affected_range(changed: list[dt.date], settings: Settings) -> tuple[dt.date, dt.date]:
    """Local days [Monday, Sunday] whose periods a change of these UTC days can affect."""
    first, last = min(changed) - dt.timedelta(days=1), max(changed) + dt.timedelta(days=1)
    back = settings.response_window_days
    forward = max(7, settings.spike_baseline_days, VOICE_WINDOW_DAYS)
    lo = _week_start(first - dt.timedelta(days=back))
    hi = _week_start(last + dt.timedelta(days=forward)) + dt.timedelta(days=6)
    return lo, hi


def read_range(lo: dt.date, hi: dt.date, settings: Settings) -> tuple[dt.date, dt.date]:
    """Local days to load so that every period in [lo, hi] sees all the data it depends on."""
    back = max(7, settings.spike_baseline_days, VOICE_WINDOW_DAYS) + 7
    return lo - dt.timedelta(days=back), hi + dt.timedelta(days=settings.response_window_days + 1)


def _keep(table: pa.Table, lo: dt.date, hi: dt.date) -> pa.Table:
    start = table.column("period_start")
    return table.filter(pc.and_(pc.greater_equal(start, lo), pc.less_equal(start, hi)))


def _drop(table: pa.Table, lo: dt.date, hi: dt.date) -> pa.Table:
    start = table.column("period_start")
    return table.filter(pc.or_(pc.less(start, lo), pc.greater(start, hi)))


def _sorted(table: pa.Table, contract: Table) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in contract.key])


def build_marts(project: Project, *, full: bool = False, include_bots: bool | None = None) -> dict:
    """Bring every mart up to date with the enriched layer; return what was done."""
    storage = project.storage
    started = time.perf_counter()
    partitions = _partitions(project)
    if not partitions:
        raise RuntimeError("the enriched layer is empty: run ingestion and enrichment first")
    settings = Settings.of(project, include_bots)
    signature = _signature(settings)
    state_path = storage.path(STATE, STATE_FILE)
    state = storage.read_json(state_path) if storage.exists(state_path) else {}
    missing = [n for n in MART_BUILDERS if not storage.exists(storage.mart_path(n))]
    incremental = not full and not missing and state.get("signature") == signature
    window: tuple[dt.date, dt.date] | None = None
    if incremental:
        seen = state.get("partitions", {})
        changed = sorted(
            dt.date.fromisoformat(d) for d in set(partitions) | set(seen) if partitions.get(d) != seen.get(d)
        )
        if not changed:
            log.info("marts are up to date with the enriched layer")
            return _summary(project, started, mode="up to date")
        window = affected_range(changed, settings)

    facts = open_facts(project, settings, *(read_range(*window, settings) if window else (None, None)))
    if window and facts.data_end is not None:
        window = (window[0], min(window[1], _week_start(facts.data_end) + dt.timedelta(days=6)))
    # Every mart is validated before any is replaced; meanwhile they wait as compressed Parquet bytes.
    staged: dict[str, bytes] = {}
    rows: dict[str, int] = {}
    for name, builder in MART_BUILDERS.items():
        t0 = time.perf_counter()
        table = unanswered(facts, enriched_source(project)) if builder is unanswered else builder(facts)
        if window:
            table = _keep(table, *window)
        _validate(name, table, settings)
        if window:
            previous = storage.read_parquet(storage.mart_path(name))
            table = pa.concat_tables([_drop(previous.cast(table.schema), *window), table])
        staged[name] = parquet_bytes(_sorted(table, MARTS[name]))
        rows[name] = table.num_rows
        log.info("%s: %d rows in %.1f s", name, table.num_rows, time.perf_counter() - t0)
        del table
    facts.con.close()
    for name, data in staged.items():
        storage.write_bytes(storage.mart_path(name), data)
    storage.write_json(state_path, {"signature": signature, "partitions": partitions})
    mode = f"incremental {window[0]}..{window[1]}" if window else "full"
    return _summary(project, started, mode=mode, rows=rows)


def _summary(project: Project, started: float, *, mode: str, rows: dict[str, int] | None = None) -> dict:
    """What the build did; row counts from the Parquet footers when the marts were not rebuilt."""
    storage = project.storage
    if rows is None:
        rows = {}
        for name in MART_BUILDERS:
            rows[name] = storage.parquet_rows(storage.mart_path(name))
    elapsed = time.perf_counter() - started
    log.info("marts %s in %.1f s", mode, elapsed)
    return {"marts": rows, "mode": mode, "seconds": round(elapsed, 2)}


def _validate(name: str, table: pa.Table, settings: Settings) -> None:
    """The contract suite, plus the cross-row checks: shares sum to 1, every brand present."""
    import great_expectations.expectations as gxe

    extra = []
    if name == MART_BRAND_KPIS.name and table.num_rows:
        extra.append(
            gxe.ExpectColumnDistinctValuesToEqualSet(column="brand_id", value_set=list(settings.brands))
        )
        sums = (
            table.group_by(["period", "period_start", "source", "language"])
            .aggregate([("share_of_voice", "sum")])
            .rename_columns(["period", "period_start", "source", "language", "share_sum"])
        )
        validate(sums.select(SHARE_SUMS.columns), SHARE_SUMS, label=f"{name}: share of voice per period")
    if name == MART_PARTICIPATION.name and table.num_rows:
        tiers = pc.add(
            pc.add(table.column("top1_share"), table.column("next9_share")), table.column("rest90_share")
        )
        sums = table.select(["period", "period_start", "source", "language"]).append_column(
            "share_sum", tiers
        )
        validate(sums, SHARE_SUMS, label=f"{name}: 1/9/90 shares per row")
    validate(table, MARTS[name], label=name, extra=extra)

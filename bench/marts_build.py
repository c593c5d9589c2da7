"""Marts build benchmark: full and incremental build time and peak memory on synthetic enriched posts.

    python bench/marts_build.py                                  # 1,000,000 posts over a year, temp folder
    python bench/marts_build.py --rows 3000000 --out /tmp/listening-3m
    python bench/marts_build.py --out /tmp/listening-3m --reuse  # keep the data written last time

The enriched layer is written by ``bench/synthetic.py`` (contract-exact rows, one partition per day).
Each build runs in a fresh Python process, so its peak RSS is that of the build alone (imports
included): first a full build, then an incremental one with nothing changed, then an incremental one
after one day partition is rewritten (5 % of its posts marked deleted, as a late update would).
Targets: a full build of 1,000,000 posts within 60 s and 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 60
TARGET_RSS_MB = 2048


def _child(config: Path, full: bool) -> None:
    """In a fresh interpreter: one build; its figures go to stdout as one JSON line."""
    import resource

    from pipelines.marts import build_marts
    from pipelines.project import open_project

    import_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    project = open_project(config)
    started = time.perf_counter()
    result = build_marts(project, full=full)
    seconds = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "seconds": round(seconds, 2), "peak_rss_mb": round(peak_rss_mb), "import_rss_mb": round(import_rss_mb),
        "mode": result["mode"], "marts": result["marts"],
    }))  # fmt: skip


def build(config: Path, full: bool) -> dict:
    """Run one build in a subprocess; its figures, or ``error`` with the end of its stderr."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(config)]
    if full:
        command.append("--full")
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = round(time.perf_counter() - started, 1)
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-3:]
        return {"error": " | ".join(tail) or f"exit status {proc.returncode}", "process_s": wall}
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"process_s": wall}


def rewrite_day(config: Path, day: str | None) -> str:
    """Rewrite one enriched partition (the latest unless ``day``): 5 % of its posts become deleted."""
    import pyarrow as pa

    from pipelines.contracts import conform
    from pipelines.project import open_project
    from pipelines.storage import ENRICHED, partition_value
    from schemas.tables import ENRICHED_POSTS

    storage = open_project(config).storage
    paths = storage.glob(f"{ENRICHED}/date=*/enriched.parquet")
    path = storage.enriched_partition(day) if day else paths[-1]
    table = conform(storage.read_parquet(path), ENRICHED_POSTS)
    deleted = table.column("is_deleted").to_numpy(zero_copy_only=False).copy()
    deleted[::20] = True
    index = table.schema.get_field_index("is_deleted")
    table = table.set_column(index, table.schema.field(index), pa.array(deleted))
    storage.write_parquet(path, table)
    return partition_value(path, "date")


def prepare(out: Path, rows: int, days: int, seed: int, reuse: bool) -> dict:
    """The synthetic project under ``out`` (written unless ``reuse`` and already there)."""
    from bench.synthetic import write_project

    config = out / "listening.yaml"
    if reuse and config.exists() and any((out / "data" / "enriched").glob("date=*/enriched.parquet")):
        import pyarrow.dataset as ds

        data = ds.dataset(out / "data" / "enriched", format="parquet", partitioning="hive")
        files = len(data.files)
        return {"rows": data.count_rows(), "files": files, "config": str(config), "reused": True}
    return write_project(out, rows, days, seed) | {"reused": False}


def prepared(out: Path, rows: int, days: int, seed: int, reuse: bool, marts: bool = False) -> Path:
    """The synthetic project under ``out`` (its figures printed) and its config; with ``marts``, its marts
    built in full unless ``reuse`` finds them. Shared by the dashboard and digest benchmarks."""
    data = prepare(out, rows, days, seed, reuse)
    how = "reused" if data["reused"] else f"generated in {data['seconds']} s"
    print(f"enriched layer: {data['rows']:,} rows in {data['files']} daily partitions ({how}) under {out}")
    print(f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, {dt.date.today()}")
    config = Path(data["config"])
    if marts and not (reuse and (out / "data" / "marts" / "mart_brand_kpis" / "data.parquet").exists()):
        result = build(config, full=True)
        if "error" in result:
            sys.exit(f"marts build failed: {result['error']}")
        print(f"marts: full build in {result['seconds']} s (peak RSS {result['peak_rss_mb']:,} MB)")
    return config


def _row(label: str, r: dict, targets: bool) -> str:
    if "error" in r:
        return f"{label:<34} FAILED: {r['error']}"
    seconds_ok = r["seconds"] <= TARGET_SECONDS
    rss_ok = r["peak_rss_mb"] <= TARGET_RSS_MB
    verdict = ("ok" if seconds_ok and rss_ok else "OVER TARGET") if targets else ""
    return (f"{label:<34} {r['seconds']:>8.1f} {'<= ' + str(TARGET_SECONDS) if targets else '':>7} "
            f"{r['peak_rss_mb']:>11,} {'<= ' + str(TARGET_RSS_MB) if targets else '':>8}  "
            f"{r['process_s']:>9.1f}  {r['mode']} {verdict}").rstrip()  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="project folder (default: a temporary one, removed after)")
    parser.add_argument("--reuse", action="store_true", help="keep the data already under --out")
    parser.add_argument("--touch-day", help="partition (YYYY-MM-DD) to rewrite; default: the latest")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.full)
        return

    out = (args.out or Path(tempfile.mkdtemp(prefix="listening-marts-bench-"))).resolve()
    try:
        config = prepared(out, args.rows, args.days, args.seed, args.reuse)
        full = build(config, full=True)
        unchanged = build(config, full=False)
        touched = rewrite_day(config, args.touch_day)
        incremental = build(config, full=False)
        print()
        print(f"{'build':<34} {'seconds':>8} {'target':>7} {'peak RSS MB':>11} {'target':>8}  "
              f"{'process s':>9}  mode")  # fmt: skip
        print(_row("full", full, targets=True))
        print(_row("incremental, nothing changed", unchanged, targets=False))
        print(_row(f"incremental, {touched} rewritten", incremental, targets=False))
        marts = full.get("marts") or incremental.get("marts") or {}
        if marts:
            print("\nmart rows (after the full build):")
            for name, count in sorted(marts.items()):
                print(f"  {name:<32} {count:>10,}")
        if "error" in full:
            sys.exit(1)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

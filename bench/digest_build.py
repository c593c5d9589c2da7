"""Digest benchmark: time and peak memory to build one week's digest over synthetic posts.

    python bench/digest_build.py                                   # 2,000,000 posts over 14 days: ~1M a week
    python bench/digest_build.py --rows 1000000 --days 365         # a year of 1M posts, the last week
    python bench/digest_build.py --out /tmp/listening-digest --reuse   # keep the data and marts of last time

The enriched layer is written by ``bench/synthetic.py`` and the marts are built by ``bench/marts_build.py``
(each in a fresh process). Then the digest of the last full ISO week is built twice in a fresh Python
process each (archive written, nothing delivered): its wall time, peak RSS (imports included) and the
posts of the week; the second build must give byte-identical files (same content hash, no file
rewritten). Target: one week of 1,000,000 posts within 30 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30


def _peak_rss_mb() -> float:
    """Peak RSS of this process: VmHWM (reset by exec, unlike ru_maxrss, which Linux carries over from
    the parent that generated the data), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(config: Path, week: str | None) -> None:
    """In a fresh interpreter: one digest build; its figures go to stdout as one JSON line."""
    from pipelines.digest import available_weeks, build_digest
    from pipelines.project import open_project

    import_rss_mb = _peak_rss_mb()
    project = open_project(config)
    week = week or available_weeks(project)[1]  # the newest is the week still in progress at the data's end
    started = time.perf_counter()
    folder = Path(project.storage.path("digests", week))
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} if folder.exists() else {}
    result = build_digest(project, week, deliver=False)
    seconds = time.perf_counter() - started
    after = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    rewritten = sum(1 for p, m in after.items() if before.get(p) != m) if before else None
    print(json.dumps({
        "week": week, "seconds": round(seconds, 2),
        "peak_rss_mb": round(_peak_rss_mb()),
        "import_rss_mb": round(import_rss_mb), "posts": result["posts"], "mentions": result["mentions"],
        "files": result["files"], "content_hash": result["content_hash"], "rewritten": rewritten,
        "movements": result["movements"],
    }))  # fmt: skip


def digest(config: Path, week: str | None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(config)]
    if week:
        command += ["--week", week]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = round(time.perf_counter() - started, 1)
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-3:]
        return {"error": " | ".join(tail) or f"exit status {proc.returncode}", "process_s": wall}
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"process_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--week", help="ISO week (default: the last full week of the data)")
    parser.add_argument("--out", type=Path, help="project folder (default: a temporary one, removed after)")
    parser.add_argument("--reuse", action="store_true", help="keep the data and marts already under --out")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.week)
        return

    from bench.marts_build import prepared

    out = (args.out or Path(tempfile.mkdtemp(prefix="listening-digest-bench-"))).resolve()
    try:
        config = prepared(out, args.rows, args.days, args.seed, args.reuse, marts=True)
        shutil.rmtree(out / "data" / "digests", ignore_errors=True)
        first = digest(config, args.week)
        second = digest(config, args.week)
        print()
        print(
            f"{'digest build':<22} {'week':>9} {'posts':>10} {'seconds':>8} {'target':>7} {'peak RSS MB':>11}  {'process s':>9}"
        )
        for label, r in (("first", first), ("rerun (same data)", second)):
            if "error" in r:
                print(f"{label:<22} FAILED: {r['error']}")
                continue
            verdict = "ok" if r["seconds"] <= TARGET_SECONDS else "OVER TARGET"
            print(f"{label:<22} {r['week']:>9} {r['posts']:>10,} {r['seconds']:>8.1f} {'<= ' + str(TARGET_SECONDS):>7} "
                  f"{r['peak_rss_mb']:>11,}  {r['process_s']:>9.1f}  {verdict}")  # fmt: skip
        if "error" in first or "error" in second:
            sys.exit(1)
        identical = first["content_hash"] == second["content_hash"] and second["rewritten"] == 0
        print(f"\nrerun byte-identical: {'yes' if identical else 'NO'} ({second['files']} files, "
              f"{second['rewritten']} rewritten, content hash {second['content_hash'][:16]})")  # fmt: skip
        print(f"imports alone: {first['import_rss_mb']:,} MB RSS")
        print("movements: " + "; ".join(first["movements"]))
        if not identical or first["seconds"] > TARGET_SECONDS:
            sys.exit(1)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

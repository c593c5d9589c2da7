"""NLP speed and memory benchmark: posts per second end to end, and peak memory on a large file.

    python bench/nlp_throughput.py                      # 10,000 posts, default and fast mode
    python bench/nlp_throughput.py --memory 100000      # + peak RSS of `listening analyze` on 100k posts

Posts are real-length texts: the tweets of ../shared/data (UMSAB) when present, else the project's
demo texts; sampled with replacement to the requested count. "End to end" is the whole spaCy
pipeline: language id, brand linking, clauses, encoder, every head, evidence spans.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sample_texts(n: int, seed: int = 7) -> tuple[list[str], str]:
    from nlp.evaluate import UMSAB_FILE, default_shared_dir

    umsab = default_shared_dir() / UMSAB_FILE
    if umsab.is_file():
        import pandas as pd

        pool = pd.read_csv(umsab)["text"].astype(str).tolist()
        origin = f"UMSAB tweets ({len(pool)} distinct)"
    else:
        import yaml

        pool = []
        for path in sorted((ROOT / "pipelines" / "demo" / "texts").glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            pool += [
                item["text"] for section in ("audience", "brand_posts") for item in data.get(section, [])
            ]
        origin = f"demo texts ({len(pool)} distinct)"
    rng = random.Random(seed)
    return [rng.choice(pool) for _ in range(n)], origin


def throughput(texts: list[str], mode: str, workers: int) -> dict:
    from nlp.enrich import label_texts
    from nlp.parallel import CHUNK
    from pipelines.project import open_project

    project = open_project(ROOT / "listening.yaml")
    config = project.config.model_copy(update={"nlp": project.config.nlp.model_copy(update={"mode": mode})})
    started = time.perf_counter()
    warm = texts[: max(64, CHUNK * workers * 2)]  # loads the pipeline in every process
    label_texts(config, project.base_dir, warm, [None] * len(warm), [None] * len(warm), workers)
    load = time.perf_counter() - started
    started = time.perf_counter()
    none = [None] * len(texts)
    columns = label_texts(config, project.base_dir, texts, none, none, workers)
    elapsed = time.perf_counter() - started
    assert len(columns["sentiment_label"]) == len(texts)
    return {"mode": mode, "workers": workers, "posts": len(texts), "seconds": round(elapsed, 1),
            "posts_per_s": round(len(texts) / elapsed), "load_s": round(load, 1)}  # fmt: skip


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of a process and all its descendants (PSS splits shared pages fairly)."""
    import psutil

    rss = pss = 0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                info = proc.memory_full_info()
                rss, pss = rss + info.rss, pss + info.pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    except psutil.NoSuchProcess:
        pass
    return rss, pss


def peak_memory(rows: int, mode: str, workers: int) -> dict:
    """Run ``listening analyze`` on ``rows`` posts; sample the memory of it and its workers every 0.2 s."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts, _ = sample_texts(rows, seed=11)
    peak_rss = peak_pss = 0
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "posts.parquet"
        pq.write_table(pa.table({"id": [str(i) for i in range(rows)], "text": texts}), source)
        command = [sys.executable, "-m", "pipelines.cli", "--config", str(ROOT / "listening.yaml"), "analyze",
                   str(source), "--text-column", "text", "--id-column", "id", "--mode", mode,
                   "--output", str(Path(tmp) / "out.parquet")]  # fmt: skip
        command += ["--workers", str(workers)] if workers else []
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            rss, pss = _tree_memory(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        if proc.returncode:
            raise SystemExit(f"listening analyze failed with exit code {proc.returncode}")
        out_rows = pq.ParquetFile(Path(tmp) / "out.parquet").metadata.num_rows
    return {"mode": mode, "rows": out_rows, "seconds": round(elapsed, 1),
            "peak_rss_mb": round(peak_rss / 2**20), "peak_pss_mb": round(peak_pss / 2**20)}  # fmt: skip


def _cpu_name() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                "unknown CPU")  # fmt: skip
    return name + (", VNNI" if "avx512_vnni" in info or "avx_vnni" in info else ", no VNNI")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--modes", default="default,fast")
    parser.add_argument("--memory", type=int, default=0, help="also measure peak RSS on this many posts")
    parser.add_argument("--memory-mode", default="default")
    parser.add_argument("--workers", type=int, default=0, help="parallel processes (default: one per core)")
    args = parser.parse_args()
    texts, origin = sample_texts(args.posts)
    print(f"{args.posts} posts from {origin}; mean {sum(map(len, texts)) / len(texts):.0f} characters; "
          f"{os.cpu_count()} CPU cores ({_cpu_name()})")  # fmt: skip
    cores = len(os.sched_getaffinity(0))
    for mode in filter(None, args.modes.split(",")):  # --modes "" measures memory only
        for workers in sorted({1, args.workers or cores}):
            r = throughput(texts, mode, workers)
            print(f"mode={r['mode']:<8} workers={r['workers']} {r['posts_per_s']:>6} posts/s  "
                  f"({r['posts']} posts in {r['seconds']} s; load and warm-up {r['load_s']} s)")  # fmt: skip
    if args.memory:
        r = peak_memory(args.memory, args.memory_mode, args.workers)
        print(f"analyze {r['rows']} posts (mode={r['mode']}): {r['seconds']} s, {r['rows'] / r['seconds']:.0f} "
              f"posts/s; peak memory of the process and its workers: PSS {r['peak_pss_mb']} MB "
              f"(RSS summed {r['peak_rss_mb']} MB, counts shared pages once per process)")  # fmt: skip


if __name__ == "__main__":
    main()

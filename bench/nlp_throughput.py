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
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sample_texts(n: int, seed: int = 7) -> tuple[list[str], str]:
    shared = Path(os.environ.get("LISTENING_SHARED_DATA", ROOT.parent / "shared" / "data"))
    umsab = shared / "umsab_xlmt_multilingual_tweet_sentiment" / "umsab_all_languages.csv"
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


def throughput(texts: list[str], mode: str) -> dict:
    from nlp.enrich import nlp_columns, process
    from nlp.pipeline import pipeline
    from pipelines.project import open_project

    project = open_project(ROOT / "listening.yaml")
    started = time.perf_counter()
    nlp = pipeline(project.config, project.base_dir, mode)
    load = time.perf_counter() - started
    list(process(texts[:64], [None] * 64, [None] * 64, nlp))  # warm-up
    started = time.perf_counter()
    columns = nlp_columns(process(texts, [None] * len(texts), [None] * len(texts), nlp), [None] * len(texts))
    elapsed = time.perf_counter() - started
    assert len(columns["sentiment_label"]) == len(texts)
    return {"mode": mode, "posts": len(texts), "seconds": round(elapsed, 1),
            "posts_per_s": round(len(texts) / elapsed), "load_s": round(load, 1)}  # fmt: skip


def peak_memory(rows: int, mode: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts, _ = sample_texts(rows, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "posts.parquet"
        pq.write_table(pa.table({"id": [str(i) for i in range(rows)], "text": texts}), source)
        command = [sys.executable, "-m", "pipelines.cli", "--config", str(ROOT / "listening.yaml"), "analyze",
                   str(source), "--text-column", "text", "--id-column", "id", "--mode", mode,
                   "--output", str(Path(tmp) / "out.parquet")]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        out_rows = pq.ParquetFile(Path(tmp) / "out.parquet").metadata.num_rows
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"mode": mode, "rows": out_rows, "seconds": round(elapsed, 1), "peak_rss_mb": round(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--modes", default="default,fast")
    parser.add_argument("--memory", type=int, default=0, help="also measure peak RSS on this many posts")
    parser.add_argument("--memory-mode", default="default")
    args = parser.parse_args()
    texts, origin = sample_texts(args.posts)
    print(f"{args.posts} posts from {origin}; mean {sum(map(len, texts)) / len(texts):.0f} characters; "
          f"{os.cpu_count()} CPU cores")  # fmt: skip
    for mode in args.modes.split(","):
        r = throughput(texts, mode)
        print(f"mode={r['mode']:<8} {r['posts_per_s']:>6} posts/s  ({r['posts']} posts in {r['seconds']} s; "
              f"pipeline load {r['load_s']} s)")  # fmt: skip
    if args.memory:
        r = peak_memory(args.memory, args.memory_mode)
        print(
            f"analyze {r['rows']} posts (mode={r['mode']}): {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB"
        )


if __name__ == "__main__":
    main()

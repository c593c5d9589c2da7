"""The embedded demo data: size, languages, period, determinism and the planted patterns."""

import datetime as dt
import json
from collections import Counter

from pipelines.demo.generate import generate


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_generation_is_deterministic(tmp_path, demo_exports):
    generate(tmp_path)
    for name in ("social.jsonl", "forums.csv", "reviews_video.parquet", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (demo_exports / name).read_bytes(), name


def test_size_languages_and_period(demo_exports):
    info = manifest(demo_exports)
    assert info["posts"] >= 2000
    assert info["hand_written_texts"] >= 800
    assert set(info["languages"]) >= {"en", "pl", "ru", "sl", "he", "is", "de", "fr", "es"}
    days = {p["id"]: p for p in info["gold"]}
    assert len(days) == info["posts"]
    start, end = (
        dt.date.fromisoformat(info["period"]["start"]),
        dt.date.fromisoformat(info["period"]["end_exclusive"]),
    )
    assert (end - start).days >= 56
    assert info["kinds"]["brand_reply"] > 300 and info["kinds"]["brand_post"] > 100
    assert {"korvo", "kvik", "mercato", "zesta"} <= {b for p in info["gold"] for b in p["brands"]}


def test_planted_patterns_are_in_the_data(demo_exports):
    gold = manifest(demo_exports)["gold"]
    created = {}
    for row in (demo_exports / "social.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(row)
        created[record["id"]] = record["created_at"]
    weeks = Counter()
    for post in gold:
        if post["id"] in created and post.get("topic") == "delivery_delay" and "kvik" in post["brands"]:
            weeks[
                dt.datetime.fromisoformat(created[post["id"]].replace("Z", "+00:00")).isocalendar().week
            ] += 1
    others = [n for week, n in weeks.items() if week != 40]
    assert weeks[40] > 3 * max(others)

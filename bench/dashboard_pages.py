"""Dashboard benchmark: render time of every page on 1,000,000 enriched posts (Streamlit AppTest).

    python bench/dashboard_pages.py                              # 1,000,000 posts, temp folder
    python bench/dashboard_pages.py --out /tmp/listening-1m --reuse

Writes the synthetic enriched layer (``bench/synthetic.py``) and builds the marts unless ``--reuse``
finds them, then opens the app headless and times each page three ways:

* cold: the first render of the page in the process (empty query cache; imports already done);
* warm: the same page again (cached per data version, as a returning user sees it);
* new filters: the page after the date range moves back a week and one brand is dropped (new queries).

Target: every page <= 1.5 s. The digest page shows the archived digest of a week; for a week without
one it offers to render a preview from the marts on demand: that render is reported on its own line
(``bench/digest_build.py`` measures the digest build itself).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 1.5
PAGES = [
    "views/overview.py",
    "views/pain_points.py",
    "views/motives.py",
    "views/tone.py",
    "views/engagement.py",
    "views/alerts.py",
    "views/explorer.py",
    "views/digest.py",
]


def _timed_run(at, page: str | None = None) -> float:
    started = time.perf_counter()
    (at.switch_page(page) if page else at).run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    return seconds


def measure(config: Path) -> list[dict]:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    os.environ["LISTENING_CONFIG"] = str(config)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=600)
    frame_s = _timed_run(at)  # the frame and the first (default) page: imports, project, filter options
    end = dt.date.fromisoformat(
        at.query_params["to"][0] if isinstance(at.query_params["to"], list) else at.query_params["to"]
    )
    rows = []
    for page in PAGES:
        rows.append({"page": page, "cold": _timed_run(at, page)})
    for row in rows:
        row["warm"] = _timed_run(at, row["page"])
    brands = at.sidebar.multiselect[0].value
    at.sidebar.date_input[0].set_value((end - dt.timedelta(days=34), end - dt.timedelta(days=7)))
    at.sidebar.multiselect[0].set_value(brands[:-1])
    at.run()
    for row in rows:
        row["new_filters"] = _timed_run(at, row["page"])
    at.switch_page("views/digest.py").run()
    started = time.perf_counter()
    at.toggle(key="digest-preview").set_value(True).run()
    preview = time.perf_counter() - started
    rows.append(
        {"page": "(digest preview rendered on demand)", "cold": preview, "warm": None, "new_filters": None}
    )
    rows.insert(
        0,
        {
            "page": "(first load: imports + frame + overview)",
            "cold": frame_s,
            "warm": None,
            "new_filters": None,
        },
    )
    return rows


def main() -> None:
    from bench.marts_build import prepared

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="project folder (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="keep the data and marts already under --out")
    args = parser.parse_args()

    out = (args.out or Path(tempfile.mkdtemp(prefix="listening-dashboard-bench-"))).resolve()
    config = prepared(out, args.rows, args.days, args.seed, args.reuse, marts=True)
    rows = measure(config)
    print(f"\n{'page':<42} {'cold s':>8} {'warm s':>8} {'new filters s':>14}  target <= {TARGET_SECONDS} s")
    worst = 0.0
    for row in rows:
        cells = [f"{row[k]:>8.2f}" if row[k] is not None else f"{'':>8}" for k in ("cold", "warm")]
        nf = f"{row['new_filters']:>14.2f}" if row["new_filters"] is not None else f"{'':>14}"
        if row["warm"] is not None:
            worst = max(
                worst,
                row["cold"],
                row["warm"],
                row["new_filters"],
            )
        print(f"{row['page']:<42} {cells[0]} {cells[1]} {nf}")
    verdict = "ok" if worst <= TARGET_SECONDS else "OVER TARGET"
    print(f"\nslowest page render (cold, warm, new filters): {worst:.2f} s  {verdict}")


if __name__ == "__main__":
    main()

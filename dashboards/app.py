"""Streamlit entry point: the frame that holds sign-in, the global filters and the page navigation.

Run with ``listening dashboard`` (binds 127.0.0.1) or
``streamlit run dashboards/app.py --server.address 127.0.0.1``. Filters live in the URL
(``?from=2026-10-01&to=2026-10-28&brands=korvo,kvik&sources=...&languages=...``), so a view can be
shared as a link. Sign-in is optional (docs/dashboard.md): off for the local demo.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run dashboards/app.py` puts dashboards/, not the repo, on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import auth, data  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DAYS = 28

st.set_page_config(page_title="Listening", page_icon="📣", layout="wide")


def _list_param(name: str, allowed: list[str]) -> list[str]:
    value = st.query_params.get(name)
    if not value:
        return list(allowed)
    chosen = [v for v in value.split(",") if v in allowed]
    return chosen or list(allowed)


def _date_param(name: str, default: dt.date, low: dt.date, high: dt.date) -> dt.date:
    try:
        value = dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default
    return min(max(value, low), high)


def sidebar_filters() -> data.Filters | None:
    config = data.project().config
    options = data.filter_options()
    st.sidebar.title(config.project)
    if not options:
        return None
    brand_ids = [b.id for b in config.brands]
    names = {b.id: b.name + (" (us)" if b.own else "") for b in config.brands}
    low, high = options["start"], options["end"]
    # Default: the last four weeks of data, so every KPI has a previous period to compare with.
    start = _date_param("from", max(low, high - dt.timedelta(days=DEFAULT_DAYS - 1)), low, high)
    end = _date_param("to", high, low, high)
    picked = st.sidebar.date_input(
        "Dates", value=(start, end), min_value=low, max_value=high, format="YYYY-MM-DD"
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    brands = st.sidebar.multiselect(
        "Brands", brand_ids, default=_list_param("brands", brand_ids), format_func=names.get
    )
    sources = st.sidebar.multiselect(
        "Sources", options["sources"], default=_list_param("sources", options["sources"])
    )
    languages = st.sidebar.multiselect(
        "Languages", options["languages"], default=_list_param("languages", options["languages"])
    )
    st.sidebar.caption(f"Data from {low} to {high}. Times in {config.timezone}.")
    # Keep the view in the URL so it can be shared as a link.
    st.query_params.update({
        "from": start.isoformat(), "to": end.isoformat(),
        "brands": ",".join(brands), "sources": ",".join(sources), "languages": ",".join(languages),
    })  # fmt: skip
    return data.Filters(
        start,
        end,
        tuple(b for b in brand_ids if b in brands),
        tuple(sources),
        tuple(languages),
        all_sources=set(sources) == set(options["sources"]),
        all_languages=set(languages) == set(options["languages"]),
    )


PAGES = [
    ("overview.py", "Overview", ":material/dashboard:", "overview"),
    ("pain_points.py", "Pain points", ":material/report:", "pain-points"),
    ("motives.py", "Motives", ":material/favorite:", "motives"),
    ("tone.py", "Tone and intents", ":material/mood:", "tone"),
    ("engagement.py", "Engagement", ":material/forum:", "engagement"),
    ("alerts.py", "Alerts", ":material/notifications_active:", "alerts"),
    ("explorer.py", "Post explorer", ":material/search:", "explorer"),
    ("digest.py", "Digest", ":material/mail:", "digest"),
]

if auth.signed_in():
    st.session_state["filters"] = sidebar_filters()
    auth.sign_out_button()
    page = st.navigation(
        [st.Page(str(HERE / "views" / f), title=t, icon=i, url_path=u, default=n == 0)
         for n, (f, t, i, u) in enumerate(PAGES)]
    )  # fmt: skip
    page.run()

"""Streamlit entry point: the frame that holds the global filters and the page navigation.

Run with ``listening dashboard`` (binds 127.0.0.1) or
``streamlit run dashboards/app.py --server.address 127.0.0.1``.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards import data
from dashboards.views import share_of_voice

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
    proj = data.project()
    config = proj.config
    options = data.filter_options(data.data_version(proj))
    st.sidebar.title(config.project)
    if not options:
        return None
    brand_ids = [b.id for b in config.brands]
    names = {b.id: b.name + (" (us)" if b.own else "") for b in config.brands}
    low, high = options["start"], options["end"]
    start = _date_param("from", low, low, high)
    end = _date_param("to", high, low, high)
    picked = st.sidebar.date_input("Dates", value=(start, end), min_value=low, max_value=high)
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
    # Keep the view in the URL so it can be shared as a link.
    st.query_params.update({
        "from": start.isoformat(), "to": end.isoformat(),
        "brands": ",".join(brands), "sources": ",".join(sources), "languages": ",".join(languages),
    })  # fmt: skip
    return data.Filters(start, end, tuple(brands), tuple(sources), tuple(languages))


filters = sidebar_filters()
st.session_state["filters"] = filters
page = st.navigation(
    [st.Page(share_of_voice.main, title="Share of voice", icon="📊", url_path="share-of-voice")]
)
page.run()

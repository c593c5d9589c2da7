"""Digest: preview the weekly insight digest for a chosen week, and download it (HTML, Markdown, PDF)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, ui

filters = ui.filters_or_stop(
    "Weekly digest", "What managers receive by e-mail and Slack every week (built by `listening digest`)."
)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def _weeks(version: str) -> list[str]:
    from pipelines.digest import available_weeks

    return available_weeks(data.project())


@st.cache_data(ttl=3600, show_spinner=False, max_entries=8)
def _render(version: str, week: str) -> dict:
    from pipelines.digest import render_digest

    rendered = render_digest(data.project(), week)
    return {"html": rendered.html, "markdown": rendered.markdown, "pdf": rendered.pdf}


version = data.data_version()
weeks = _weeks(version)
if not weeks:
    st.info("No complete week of data yet.")
    st.stop()
in_range = [
    w
    for w in weeks
    if any(w == f"{m.isocalendar().year}-W{m.isocalendar().week:02d}" for m in data.weeks_in_range(filters))
]
week = st.selectbox("Week", weeks, index=weeks.index(in_range[0]) if in_range else 0, key="digest-week")
with st.spinner(f"Building the digest for {week}..."):
    digest = _render(version, week)
cols = st.columns([1, 1, 1, 5])
cols[0].download_button(
    "HTML", digest["html"].encode("utf-8"), f"digest-{week}.html", "text/html", icon=":material/download:"
)
cols[1].download_button(
    "Markdown",
    digest["markdown"].encode("utf-8"),
    f"digest-{week}.md",
    "text/markdown",
    icon=":material/download:",
)
cols[2].download_button(
    "PDF", digest["pdf"], f"digest-{week}.pdf", "application/pdf", icon=":material/download:"
)
st.caption(
    "The digest covers every source and language; the sidebar's brand and language filters do not apply to it."
)
# The digest's HTML is our own template with every post quote escaped (pipelines/digest), so it can be
# framed as it is; nothing a post says can become markup in it.
st.iframe(digest["html"], height=1400)

"""Digest: preview the weekly insight digest for a chosen week, and download it (HTML, Markdown, PDF).

A week whose digest was built (by the DAG or ``listening digest``) shows the archived copy, exactly as
it was sent; any other week is rendered from the current marts on demand.
"""

from __future__ import annotations

import streamlit as st

from dashboards import data, ui
from pipelines.storage import DIGESTS

FILES = {"html": "digest.html", "markdown": "digest.md", "pdf": "digest.pdf"}

filters = ui.filters_or_stop(
    "Weekly digest", "What managers receive by e-mail and Slack every week (built by `listening digest`)."
)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def _weeks(version: str) -> list[str]:
    from pipelines.digest import available_weeks

    return available_weeks(data.project())


def _archived(week: str) -> dict | None:
    storage = data.project().storage
    paths = {kind: storage.path(DIGESTS, week, name) for kind, name in FILES.items()}
    if not all(storage.exists(p) for p in paths.values()):
        return None
    blobs = {kind: storage.read_bytes(p) for kind, p in paths.items()}
    return {
        "html": blobs["html"].decode("utf-8"),
        "markdown": blobs["markdown"].decode("utf-8"),
        "pdf": blobs["pdf"],
    }


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
in_range = [w for w in weeks if w in {f"{m:%G-W%V}" for m in data.weeks_in_range(filters)}]
week = st.selectbox("Week", weeks, index=weeks.index(in_range[0]) if in_range else 0, key="digest-week")
digest = _archived(week)
if digest is None:
    st.info(
        f"No digest was built for {week} yet (the weekly DAG or `listening digest --week {week}` builds and "
        "archives it). A preview can be rendered from the current marts; that takes a few seconds."
    )
    if not st.toggle("Render a preview now", key="digest-preview"):
        st.stop()
    with st.spinner(f"Building the digest for {week} from the current marts..."):
        digest = _render(version, week)
    st.caption("Preview built from the current marts (not archived, not sent).")
else:
    st.caption(f"The archived digest for {week} (storage: digests/{week}/), as it was delivered.")
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
st.caption("The digest covers every source and language; the sidebar filters do not apply to it.")
# The digest's HTML is our own template with every post quote escaped (pipelines/digest), so it can be
# framed as it is; nothing a post says can become markup in it.
st.iframe(digest["html"], height=1400)

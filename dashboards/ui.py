"""Shared page pieces: the page guard, data downloads, safe rendering of post text, quotes behind a number.

Post text is user content: it is only ever shown through ``st.text``/``st.dataframe`` (rendered as text)
or, for highlighted evidence, HTML-escaped first with only our own ``<mark>`` tags added.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import streamlit as st

from dashboards import data
from dashboards.charts import with_brand_names
from nlp.taxonomy import load_taxonomy

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filters_or_stop(title: str, caption: str | None = None) -> data.Filters:
    """Page title and the global filters; stops the page with a helpful message when there is nothing to show."""
    st.title(title)
    if caption:
        st.caption(caption)
    filters: data.Filters | None = st.session_state.get("filters")
    if filters is None:
        st.info(
            "No marts yet. Run the pipeline first: `make demo`, or `listening run` then `listening marts`."
        )
        st.stop()
    if not filters.complete:
        st.warning("Pick at least one brand, source and language in the sidebar.")
        st.stop()
    return filters


def note(text: str | None) -> None:
    if text:
        st.caption(f"ℹ️ {text}")


# -- labels -----------------------------------------------------------------------------------------------------
def label_names(kind: str) -> dict[str, str]:
    """Readable names of a taxonomy's categories (plus the project's extra categories)."""
    taxonomy = {"pain_point": "pain_points", "motive": "motives", "intent": "intents"}[kind]
    names = {c.id: c.label for c in load_taxonomy(taxonomy).categories}
    config = data.project().config
    extra = {"pain_point": config.nlp.extra_pain_points, "motive": config.nlp.extra_motives}.get(kind, [])
    names.update({c.id: getattr(c, "label", None) or c.id for c in extra})
    return names


def comparison(filters: data.Filters, kind: str, what: str) -> pd.DataFrame:
    """A category comparison (data.category_comparison) with brand names, labels and a verdict; shows the
    slice note, and stops the page with a message when nothing in range carries the category."""
    names = label_names(kind)
    with st.spinner(f"Comparing {what}..."):
        frame, slice_note = data.category_comparison(filters, kind, tuple(names))
    note(slice_note)
    if frame["posts"].sum() == 0:
        st.info(f"No {what} in the selected range. Widen the dates or the filters.")
        st.stop()
    config = data.project().config
    frame = with_brand_names(frame, config).assign(label=frame["category"].map(names))
    frame["verdict"] = np.select(
        [frame["significant"] & (frame["gap"] > 0), frame["significant"] & (frame["gap"] < 0)],
        ["higher (significant)", "lower (significant)"],
        "not significant",
    )
    return frame


def category_ids(kind: str) -> tuple[str, ...]:
    return tuple(label_names(kind))


# -- downloads --------------------------------------------------------------------------------------------------
def neutralise_cell(value: object) -> object:
    """A spreadsheet would run a cell starting with = + - @ (or tab/CR) as a formula: prefix a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV with every text cell neutralised against formula injection (numbers stay numbers)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8")


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()


def downloads(frame: pd.DataFrame, name: str) -> None:
    """CSV and Parquet download buttons for the data behind a chart."""
    row = st.container(horizontal=True)
    row.download_button(
        "CSV", safe_csv(frame), f"{name}.csv", "text/csv", key=f"csv-{name}", icon=":material/download:"
    )
    row.download_button(
        "Parquet", parquet(frame), f"{name}.parquet", "application/vnd.apache.parquet", key=f"pq-{name}",
        icon=":material/download:",
    )  # fmt: skip


def chart(chart_obj, frame: pd.DataFrame, name: str) -> None:
    """An Altair chart with its data downloadable below it."""
    st.altair_chart(chart_obj, width="stretch")
    downloads(frame, name)


# -- safe post text -----------------------------------------------------------------------------------------
def safe_url(url: object) -> str | None:
    """Only http(s) links are shown (a javascript: or data: URL from a post must never become a link)."""
    if isinstance(url, str) and re.match(r"^https?://[^\s\"'<>]+$", url):
        return url
    return None


def highlighted(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """HTML of ``text`` escaped, with the evidence spans wrapped in <mark title=label>."""
    text = text or ""
    cuts = set()
    for start, end, label in spans:
        start, end = _offset(start), _offset(end)
        if start is not None and end is not None and end > start:
            cuts.add((max(0, start), min(len(text), end), str(label)))
    cuts = sorted(cuts)
    parts, at = [], 0
    for start, end, label in cuts:
        if start < at:  # overlapping evidence: keep the first
            continue
        parts.append(html.escape(text[at:start]))
        parts.append(f'<mark title="{html.escape(label, quote=True)}">{html.escape(text[start:end])}</mark>')
        at = end
    parts.append(html.escape(text[at:]))
    return "".join(parts).replace("\n", "<br>")


def _offset(value) -> int | None:
    """A character offset, or None for a missing one (null, NaN, not a number)."""
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def evidence_spans(row: pd.Series | dict) -> list[tuple[int, int, str]]:
    """Spans of the words that carry each label of a post (brand mentions, pain points, motives, tone)."""
    spans = []
    for mention in items(row.get("brand_mentions")):
        spans.append((mention.get("start"), mention.get("end"), f"brand: {mention.get('brand_id')}"))
    for column, kind in (("pain_points", "pain point"), ("motives", "motive")):
        for label in items(row.get(column)):
            spans.append((label.get("start"), label.get("end"), f"{kind}: {label.get('id')}"))
    for label in items(row.get("label_evidence")):
        spans.append((label.get("start"), label.get("end"), f"{label.get('task')}: {label.get('label')}"))
    return spans


def items(value) -> list[dict]:
    if value is None:
        return []
    try:
        return [v for v in list(value) if isinstance(v, dict)]
    except TypeError:
        return []


def post_card(row: pd.Series | dict, names: dict[str, str] | None = None) -> None:
    """One post: its text with evidence highlighted (escaped), labels, and a link to the original."""
    with st.container(border=True):
        st.markdown(highlighted(str(row.get("text") or ""), evidence_spans(row)), unsafe_allow_html=True)
        meta = [str(row.get("created_at", ""))[:16], str(row.get("source", "")), str(row.get("language", ""))]
        if row.get("sentiment_label"):
            meta.append(f"sentiment: {row['sentiment_label']}")
        if row.get("author_id"):
            meta.append(f"author {row['author_id']}")
        url = safe_url(row.get("url"))
        caption = " · ".join(m for m in meta if m)
        st.caption(html.escape(caption) + (f" · [open original]({url})" if url else ""))


def quotes(spec: dict, limit: int = 3, empty: str = "No posts behind this number.") -> None:
    """The most engaged posts behind a number, with their evidence highlighted."""
    with st.spinner("Finding the posts behind this number..."):
        posts = data.posts_behind(spec, limit=limit)
    if posts.empty:
        st.caption(empty)
        return
    for _, row in posts.iterrows():
        post_card(row)


def fmt_change(value: float | None, unit: str = "", digits: int = 1) -> str | None:
    if value is None or pd.isna(value):
        return None
    return f"{value:+,.{digits}f}{unit}"

"""Alerts: days where a brand's volume or negative share broke from its baseline, with the posts that
drove them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Alerts",
    "Spikes: a day's mentions far above the brand's trailing 28-day median (robust z), or its negative "
    "share far above the trailing share (binomial z).",
)
config = data.project().config
brand_names = charts.brand_names(config)
pain_names = ui.label_names("pain_point")

with st.spinner("Looking for spikes..."):
    found, slice_note = data.spikes(filters)
    daily = charts.with_brand_names(data.volume_and_share(filters, "day"), config)
ui.note(slice_note)
marks = charts.with_brand_names(found, config) if not found.empty else found
ui.chart(charts.spike_chart(daily, marks, config), daily.drop(columns=["ours"]), "daily_mentions")
if found.empty:
    st.success("No spikes in the selected range: every brand stayed within its usual range.")
    st.stop()

table = marks.assign(
    top_pain_points=marks["top_pain_points"].map(lambda ids: ", ".join(pain_names.get(i, i) for i in ids))
)
table = table[
    [
        "period_start",
        "brand",
        "metric",
        "value",
        "baseline",
        "score",
        "mentions",
        "top_pain_points",
        "source",
        "language",
    ]
]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "period_start": st.column_config.DateColumn("Day"),
        "value": st.column_config.NumberColumn("Value", format="%.3g"),
        "baseline": st.column_config.NumberColumn("Baseline", format="%.3g"),
        "score": st.column_config.NumberColumn("z", format="%.1f"),
    },
)
ui.downloads(marks.drop(columns=["ours"]), "spikes")

st.header("What drove them", anchor=False)


def _describe(spike: pd.Series) -> str:
    what = (f"{spike['value']:,.0f} mentions against a usual {spike['baseline']:,.0f}" if spike["metric"] == "volume"
            else f"negative share {spike['value']:.0%} against a usual {spike['baseline']:.0%}")  # fmt: skip
    return f"{spike['brand']}, {spike['period_start']:%a %d %b %Y}: {spike['metric'].replace('_', ' ')} spike ({what}, z = {spike['score']:.1f})"


choice = st.selectbox(
    "Spike", range(len(marks)), format_func=lambda i: _describe(marks.iloc[i]), key="alert-spike"
)
spike = marks.iloc[choice]
if len(spike["top_pain_points"]):
    st.caption(
        "Top pain points that day: " + ", ".join(pain_names.get(p, p) for p in spike["top_pain_points"])
    )
ui.quotes(
    {
        "post_ids": list(spike["driver_post_ids"])[:5],
        "period": "day",
        "period_start": f"{spike['period_start']:%Y-%m-%d}",
    },
    limit=5,
)

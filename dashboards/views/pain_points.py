"""Pain points: brand x category rates, gaps against competitors with significance, trends, emerging
themes, and example quotes for any cell."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Pain points",
    "What people complain about, per 1,000 mentions of each brand; competitors = the other selected brands.",
)
config = data.project().config
names = ui.label_names("pain_point")

frame = ui.comparison(filters, "pain_point", "pain points")
frame["cell_text"] = frame["rate_per_1000"].map(lambda v: "" if np.isnan(v) else f"{v:.0f}") + np.where(
    frame["significant"] & (frame["gap"] > 0),
    " ▲",
    np.where(frame["significant"] & (frame["gap"] < 0), " ▼", ""),
)
frame["rate_max"] = frame["rate_per_1000"].max()
shown = frame[frame.groupby("category")["posts"].transform("sum") > 0]

st.header("Rate per 1,000 mentions", anchor=False)
st.caption(
    "▲/▼: significantly above/below the other brands (two-proportion test, Benjamini-Hochberg q < 0.05)."
)
ui.chart(
    charts.rate_heatmap(shown, "Pain point"),
    shown.drop(columns=["cell_text", "rate_max", "ours"]),
    "pain_points",
)

st.header("Gaps against competitors", anchor=False)
brand_ids = list(filters.brands)
default = brand_ids.index(config.own_brand.id) if config.own_brand.id in brand_ids else 0
brand = st.selectbox(
    "Brand", brand_ids, index=default, format_func=charts.brand_names(config).get, key="pp-brand"
)
gaps = shown[shown["brand_id"] == brand]
if len(filters.brands) < 2:
    st.info("Select at least two brands to compare.")
else:
    ui.chart(
        charts.gap_bars(gaps, config, "Pain point"),
        gaps.drop(columns=["cell_text", "rate_max", "ours"]),
        "pain_point_gaps",
    )

st.header("Trend and quotes", anchor=False)
ranked = gaps.sort_values("posts", ascending=False)["category"].tolist()
category = st.selectbox("Pain point", ranked, format_func=names.get, key="pp-category")
left, right = st.columns([3, 2])
with left:
    trend = charts.with_brand_names(data.category_trend(filters, "pain_point", category), config)
    if trend.empty:
        st.info("No weekly data in the range.")
    else:
        st.subheader(f"{names[category]}, per 1,000 mentions by week", anchor=False)
        ui.chart(
            charts.line_by_brand(trend, config, "rate_per_1000", "Per 1,000 mentions", ",.0f"),
            trend,
            "pain_point_trend",
        )
with right:
    cell = gaps[gaps["category"] == category].iloc[0]
    st.subheader(f"What {charts.brand_names(config)[brand]}'s audience says", anchor=False)
    st.caption(f"{cell['posts']:,} of {cell['mentions']:,} mentions carry {names[category].lower()}.")
    ui.quotes(data.evidence_for(filters, brand, pain_point=category), limit=3)

st.header("Emerging themes", anchor=False)
st.caption("Clusters of complaints found each week; 'new' ones match no taxonomy category.")
themes = data.themes(filters)
if themes.empty:
    st.info("No complaint themes in the range.")
else:
    table = themes.assign(
        brands=themes["brands"].map(lambda b: ", ".join(charts.brand_names(config).get(x, x) for x in b)),
        languages=themes["languages"].map(", ".join),
        key_phrases=themes["key_phrases"].map(", ".join),
        pain_point=themes["pain_point"].map(lambda p: names.get(p, p) if isinstance(p, str) else "new"),
    )[["period_start", "label", "novel", "posts", "growth", "pain_point", "brands", "languages", "key_phrases",
       "representative_quote", "first_seen"]]  # fmt: skip
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "period_start": st.column_config.DateColumn("Week"),
            "novel": st.column_config.CheckboxColumn("New"),
            "growth": st.column_config.NumberColumn("Growth", format="percent"),
            "representative_quote": st.column_config.TextColumn("Representative quote", width="large"),
        },
    )
    ui.downloads(table, "themes")

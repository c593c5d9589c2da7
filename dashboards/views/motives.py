"""Motives: why the audience engages with each brand against competitors, and what the audience comes
for against what the brand's own posts offer."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Motives", "Why people engage with each brand: discounts, purchases, reviews, information, community..."
)
config = data.project().config
names = ui.label_names("motive")
brand_names = charts.brand_names(config)

frame = ui.comparison(filters, "motive", "motives")
shown = frame[frame.groupby("category")["posts"].transform("sum") > 0]

st.header("Motives per 1,000 mentions", anchor=False)
ui.chart(
    charts.grouped_bars(shown, config, "rate_per_1000", "label", "Per 1,000 mentions", ",.0f"),
    shown.drop(columns=["ours"]),
    "motives",
)

brand_ids = list(filters.brands)
default = brand_ids.index(config.own_brand.id) if config.own_brand.id in brand_ids else 0
brand = st.selectbox("Brand", brand_ids, index=default, format_func=brand_names.get, key="mo-brand")
left, right = st.columns(2)
with left:
    st.subheader(f"{brand_names[brand]} against competitors", anchor=False)
    gaps = shown[shown["brand_id"] == brand]
    if len(filters.brands) < 2:
        st.info("Select at least two brands to compare.")
    else:
        ui.chart(charts.gap_bars(gaps, config, "Motive"), gaps.drop(columns=["ours"]), "motive_gaps")
with right:
    st.subheader("Audience motives against brand content", anchor=False)
    gap, _ = data.motive_gap(filters)
    gap = gap[gap["brand_id"] == brand].assign(label=lambda f: f["motive"].map(names))
    if gap.empty or gap["brand_posts"].sum() == 0:
        st.info(f"No posts by {brand_names[brand]}'s own accounts in the range to compare with.")
    else:
        st.caption("+: the brand's posts offer more of it than its audience asks for; -: less.")
        ui.chart(charts.diverging_gap(gap, config), gap, "motive_gap")

st.header("Quotes", anchor=False)
ranked = gaps.sort_values("posts", ascending=False)["category"].tolist()
motive = st.selectbox("Motive", ranked, format_func=names.get, key="mo-motive")
ui.quotes(data.evidence_for(filters, brand, motive=motive), limit=3)

"""Overview: KPI cards per brand with the change against the previous period, the share-of-voice trend
and the week's biggest movements in plain words."""

from __future__ import annotations

import html
from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Overview", "How each brand is doing in the selected range, against the same number of days before."
)
config = data.project().config
names = charts.brand_names(config)

with st.spinner("Counting mentions..."):
    kpis = data.brand_kpis(filters)
prev = filters.previous()
st.caption(
    f"{filters.start} to {filters.end} ({filters.days} days) against {prev.start} to {prev.end}. "
    "Share of voice is among the selected brands."
)
colors = charts.brand_colors(config)
records = kpis.to_dict("records")
for column, row in zip(st.columns(len(records)), records, strict=True):
    brand_id = row["brand_id"]
    own = brand_id == config.own_brand.id
    with column.container(border=True):
        # The brand's colour marks its card, as it marks its lines and bars in every chart.
        swatch = colors.get(names[brand_id], "#888")
        st.markdown(
            f'<span style="color:{swatch}">■</span> **{html.escape(names[brand_id])}**'
            + (" (us)" if own else ""),
            unsafe_allow_html=True,
        )
        top, bottom = st.columns(2), st.columns(2)
        top[0].metric(
            "Mentions", f"{row['mentions']:,}", ui.fmt_change(row["mentions_change_pct"], "%"), delta_color="off",
            help=f"Audience mentions; {row['mentions_prev']:,} in the previous period.",
        )  # fmt: skip
        top[1].metric(
            "Share",
            "–" if pd.isna(row["share_of_voice"]) else f"{row['share_of_voice']:.1%}",
            ui.fmt_change(row["share_change_pts"], " pts"),
            help="Share of voice: mentions of the brand / mentions of all selected brands.",
        )
        bottom[0].metric(
            "Sentiment",
            "–" if pd.isna(row["net_sentiment"]) else f"{row['net_sentiment']:+.1f}",
            ui.fmt_change(row["net_sentiment_change"]),
            help=f"Net sentiment, 100 x (positive - negative) / mentions: {row['positive']:,} positive, "
            f"{row['negative']:,} negative.",
        )
        bottom[1].metric(
            "Answered",
            "–" if pd.isna(row["response_rate"]) else f"{row['response_rate']:.0%}",
            ui.fmt_change(row["response_rate_change_pts"], " pts"),
            help=f"Response rate: questions and complaints the brand answered: {row['answered']:,} of {row['eligible']:,}.",
        )

st.header("Share of voice", anchor=False)
period = st.segmented_control("Period", ["week", "day"], default="week", format_func=str.capitalize) or "week"
with st.spinner("Drawing the trend..."):
    trend = charts.with_brand_names(data.volume_and_share(filters, period), config)
if trend.empty:
    st.info("No mentions match these filters.")
else:
    left, right = st.columns(2)
    with left:
        st.subheader(f"Mentions per {period}", anchor=False)
        st.altair_chart(charts.line_by_brand(trend, config, "mentions", "Mentions"), width="stretch")
    with right:
        st.subheader(f"Share of voice per {period}", anchor=False)
        st.altair_chart(charts.stacked_share(trend, config), width="stretch")
    ui.downloads(
        trend[["period_start", "brand_id", "brand", "mentions", "share_of_voice"]], f"share_of_voice_{period}"
    )

week = data.weeks_in_range(filters)[0]
st.header(f"Biggest movements in the week of {week}", anchor=False)
everything = replace(filters, all_sources=True, all_languages=True)
with st.spinner("Looking for significant movements..."):
    moves = data.movements(everything, week, ui.label_names("pain_point"))
if not (filters.all_sources and filters.all_languages):
    ui.note("Movements are tested on all sources and languages.")
if moves.empty:
    st.info("No statistically meaningful movement this week: volumes, sentiment and pain points held steady.")
else:
    for _, move in moves.iterrows():
        st.markdown(f"- **{names.get(move['brand_id'], move['brand_id'])}**: {move['text']}")
    ui.downloads(moves, f"movements_{week}")

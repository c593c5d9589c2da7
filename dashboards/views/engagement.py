"""Engagement: response rate and time to first reply per brand, unanswered questions to follow up,
posting cadence, when the audience is online, participation (1/9/90) and top voices."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, ui

filters = ui.filters_or_stop(
    "Engagement", "How brands answer their audience, how often they post, and who talks."
)
config = data.project().config
brand_names = charts.brand_names(config)

st.header("Responsiveness", anchor=False)
with st.spinner("Measuring response times..."):
    kpis = charts.with_brand_names(data.brand_kpis(filters), config)
    weekly, slice_note = data.responsiveness_weekly(filters)
ui.note(slice_note)
cols = st.columns(len(kpis))
for column, row in zip(cols, kpis.itertuples(), strict=True):
    rate = "–" if row.eligible == 0 else f"{row.response_rate:.0%}"
    column.metric(row.brand, rate, ui.fmt_change(row.response_rate_change_pts, " pts"),
                  help=f"{row.answered:,} of {row.eligible:,} questions and complaints answered within "
                  f"{config.marts.response_window_days} days.")  # fmt: skip
if weekly.empty:
    st.info("No questions or complaints in the selected range.")
else:
    weekly = charts.with_brand_names(weekly, config)
    left, right = st.columns(2)
    with left:
        st.subheader("Response rate by week", anchor=False)
        st.altair_chart(
            charts.line_by_brand(weekly, config, "response_rate", "Answered", "%"), width="stretch"
        )
    with right:
        st.subheader("Median minutes to first reply", anchor=False)
        st.altair_chart(
            charts.line_by_brand(weekly, config, "median_response_minutes", "Minutes", ",.0f"),
            width="stretch",
        )
    ui.downloads(weekly.drop(columns=["ours"]), "responsiveness")

st.subheader("Unanswered questions and complaints", anchor=False)
todo = data.unanswered(filters)
if todo.empty:
    st.success("Every question and complaint in the range got a reply.")
else:
    todo = todo.assign(brand=todo["brand_id"].map(brand_names), url=todo["url"].map(ui.safe_url))
    shown = (
        "the newest 500 (there are more: narrow the dates)"
        if len(todo) >= 500
        else f"{len(todo):,}, newest first"
    )
    st.caption(f"Posts no brand reply answered within {config.marts.response_window_days} days: {shown}.")
    st.dataframe(
        todo[["created_at", "brand", "kind", "source", "language", "text", "url"]],
        hide_index=True,
        width="stretch",
        column_config={
            "created_at": st.column_config.DatetimeColumn("Posted", format="YYYY-MM-DD HH:mm"),
            "text": st.column_config.TextColumn("Post", width="large"),
            "url": st.column_config.LinkColumn("Link", display_text="open"),
        },
    )
    ui.downloads(todo.drop(columns=["brand"]), "unanswered")

st.header("Posting cadence", anchor=False)
period = (
    st.segmented_control("Period", ["week", "day"], default="week", format_func=str.capitalize, key="cad")
    or "week"
)
cadence, _ = data.cadence(filters, period)
if cadence.empty:
    st.info("The brands' own accounts did not post in the selected range.")
else:
    cadence = charts.with_brand_names(cadence, config)
    ui.chart(
        charts.line_by_brand(cadence, config, "posts", f"Posts per {period}"),
        cadence.drop(columns=["ours"]),
        "cadence",
    )

left, right = st.columns(2)
with left:
    st.header("When the audience is online", anchor=False)
    activity, _ = data.audience_activity(filters)
    if activity["posts"].sum() == 0:
        st.info("No audience posts in the selected weeks.")
    else:
        ui.chart(charts.activity_heatmap(activity, config.timezone), activity, "audience_activity")
with right:
    st.header("Participation (1/9/90)", anchor=False)
    part, part_note = data.participation(filters)
    if part.empty:
        st.info("No authors in the selected weeks.")
    else:
        week = f"{part['period_start'].iloc[0]:%Y-%m-%d}"
        st.caption(
            f"Share of mentions by the most active 1%, the next 9% and the other 90% of authors, week of {week}."
        )
        ui.note(part_note)
        long = charts.with_brand_names(part, config).melt(
            id_vars=["brand"],
            value_vars=["top1_share", "next9_share", "rest90_share"],
            var_name="label",
            value_name="share",
        )
        long["label"] = long["label"].map(
            {"top1_share": "top 1%", "next9_share": "next 9%", "rest90_share": "other 90%"}
        )
        st.altair_chart(charts.stacked_profile(long, "Share of mentions"), width="stretch")
        ui.downloads(part, "participation")

st.header("Top voices", anchor=False)
voices, _ = data.top_voices(filters)
if voices.empty:
    st.info("No advocates or critics in the selected weeks.")
else:
    voices = voices.assign(brand=voices["brand_id"].map(brand_names))
    advocates, critics = st.columns(2)
    for column, role, title in ((advocates, "advocate", "Advocates"), (critics, "critic", "Critics")):
        with column:
            st.subheader(title, anchor=False)
            st.dataframe(
                voices[voices["role"] == role][
                    ["brand", "rank", "author_id", "posts", "positive", "negative", "reach", "engagement"]
                ],
                hide_index=True,
                width="stretch",
                column_config={"author_id": st.column_config.TextColumn("Author (pseudonym)")},
            )
    ui.downloads(voices.drop(columns=["brand"]), "top_voices")

"""Share of voice: how much of the conversation each brand gets, per day or week."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data


def main() -> None:
    proj = data.project()
    config = proj.config
    st.title("Share of voice")
    filters: data.Filters | None = st.session_state.get("filters")
    if filters is None:
        st.info("No marts yet. Run the pipeline first: `make demo` or `listening run`.")
        return
    if not (filters.brands and filters.sources and filters.languages):
        st.warning("Pick at least one brand, source and language in the sidebar.")
        return
    period = (
        st.segmented_control("Period", ["week", "day"], default="week", format_func=str.capitalize) or "week"
    )
    with st.spinner("Counting mentions..."):
        frame = data.volume_and_share(data.data_version(proj), period, filters)
    if frame.empty:
        st.info("No mentions match these filters.")
        return
    frame = charts.with_brand_names(frame, config)

    totals = frame.groupby("brand", sort=False)["mentions"].sum()
    overall = totals.sum()
    columns = st.columns(len(totals))
    for column, (brand, mentions) in zip(columns, totals.items(), strict=True):
        column.metric(brand, f"{mentions:,}", help="Audience mentions in the selected range")
        column.caption(f"{mentions / overall:.1%} share of voice" if overall else "no mentions")

    left, right = st.columns(2)
    with left:
        st.subheader(f"Mentions per {period}")
        st.altair_chart(charts.line_by_brand(frame, config, "mentions", "Mentions"), width="stretch")
    with right:
        st.subheader(f"Share of voice per {period}")
        st.altair_chart(charts.stacked_share(frame, config), width="stretch")
    with st.expander("Data"):
        table = frame[["period_start", "brand", "mentions", "share_of_voice"]]
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={"share_of_voice": st.column_config.NumberColumn(format="percent")},
        )

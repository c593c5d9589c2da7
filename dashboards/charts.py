"""Chart helpers: one colour per brand everywhere, our brand drawn strongest."""

from __future__ import annotations

import altair as alt
import pandas as pd

from schemas.config import ProjectConfig

_FALLBACK = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#9D755D", "#BAB0AC"]


def brand_scale(config: ProjectConfig) -> alt.Scale:
    names = [b.name for b in config.brands]
    colors = [b.color or _FALLBACK[i % len(_FALLBACK)] for i, b in enumerate(config.brands)]
    return alt.Scale(domain=names, range=colors)


def with_brand_names(frame: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    names = {b.id: b.name for b in config.brands}
    own = config.own_brand.id
    return frame.assign(brand=frame["brand_id"].map(names), ours=frame["brand_id"] == own)


def line_by_brand(
    frame: pd.DataFrame, config: ProjectConfig, y: str, title: str, fmt: str = ",d"
) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title=None),
            y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(format=fmt)),
            color=alt.Color("brand:N", scale=brand_scale(config), title="Brand"),
            strokeWidth=alt.condition("datum.ours", alt.value(3.5), alt.value(1.6)),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("period_start:T", title="Period"),
                alt.Tooltip(f"{y}:Q", title=title, format=fmt),
            ],
        )
        .properties(height=320)
    )


def stacked_share(frame: pd.DataFrame, config: ProjectConfig) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_area()
        .encode(
            x=alt.X("period_start:T", title=None),
            y=alt.Y("share_of_voice:Q", stack="normalize", title="Share of voice", axis=alt.Axis(format="%")),
            color=alt.Color("brand:N", scale=brand_scale(config), title="Brand"),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("period_start:T", title="Period"),
                alt.Tooltip("share_of_voice:Q", title="Share of voice", format=".1%"),
                alt.Tooltip("mentions:Q", title="Mentions", format=",d"),
            ],
        )
        .properties(height=320)
    )

"""Chart builders (Altair): one colour per brand everywhere, our brand drawn strongest, exact numbers in
every tooltip. Charts use Streamlit's theme, so they stay readable in light and dark mode."""

from __future__ import annotations

import altair as alt
import pandas as pd

from schemas.config import ProjectConfig

_FALLBACK = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#9D755D", "#BAB0AC"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def brand_colors(config: ProjectConfig) -> dict[str, str]:
    return {b.name: b.color or _FALLBACK[i % len(_FALLBACK)] for i, b in enumerate(config.brands)}


def brand_scale(config: ProjectConfig) -> alt.Scale:
    colors = brand_colors(config)
    return alt.Scale(domain=list(colors), range=list(colors.values()))


def brand_names(config: ProjectConfig) -> dict[str, str]:
    return {b.id: b.name for b in config.brands}


def with_brand_names(frame: pd.DataFrame, config: ProjectConfig, column: str = "brand_id") -> pd.DataFrame:
    names = brand_names(config)
    return frame.assign(
        brand=frame[column].map(names).fillna(frame[column]), ours=frame[column] == config.own_brand.id
    )


def _brand_color(config: ProjectConfig) -> alt.Color:
    return alt.Color("brand:N", scale=brand_scale(config), title="Brand")


def line_by_brand(
    frame: pd.DataFrame, config: ProjectConfig, y: str, title: str, fmt: str = ",d"
) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title=None, axis=alt.Axis(format="%d %b", labelOverlap=True)),
            y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(format=fmt)),
            color=_brand_color(config),
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
            x=alt.X("period_start:T", title=None, axis=alt.Axis(format="%d %b", labelOverlap=True)),
            y=alt.Y("share_of_voice:Q", stack="normalize", title="Share of voice", axis=alt.Axis(format="%")),
            color=_brand_color(config),
            opacity=alt.condition("datum.ours", alt.value(1.0), alt.value(0.7)),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("period_start:T", title="Period"),
                alt.Tooltip("share_of_voice:Q", title="Share of voice", format=".1%"),
                alt.Tooltip("mentions:Q", title="Mentions", format=",d"),
            ],
        )
        .properties(height=320)
    )


def rate_heatmap(frame: pd.DataFrame, label_title: str) -> alt.Chart:
    """Brand x category heatmap of rate per 1,000 mentions; significant gaps outlined and starred."""
    base = alt.Chart(frame).encode(
        x=alt.X("brand:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(
            "label:N", title=None, sort=alt.EncodingSortField("rate_per_1000", op="max", order="descending")
        ),
    )
    tooltip = [
        alt.Tooltip("brand:N", title="Brand"),
        alt.Tooltip("label:N", title=label_title),
        alt.Tooltip("posts:Q", title="Posts", format=",d"),
        alt.Tooltip("mentions:Q", title="Mentions", format=",d"),
        alt.Tooltip("rate_per_1000:Q", title="Per 1,000 mentions", format=",.1f"),
        alt.Tooltip("competitor_rate:Q", title="Competitors per 1,000", format=",.1f"),
        alt.Tooltip("gap:Q", title="Gap per 1,000", format="+,.1f"),
        alt.Tooltip("q_value:Q", title="q (BH)", format=".2g"),
        alt.Tooltip("verdict:N", title="Verdict"),
    ]
    cells = base.mark_rect(stroke="#888", strokeWidth=0.3).encode(
        color=alt.Color("rate_per_1000:Q", title="Per 1,000", scale=alt.Scale(scheme="orangered")),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("cell_text:N"),
        color=alt.condition(
            "datum.rate_per_1000 > datum.rate_max * 0.6", alt.value("white"), alt.value("black")
        ),
        tooltip=tooltip,
    )
    return (cells + text).properties(height=max(260, 26 * frame["label"].nunique()))


def gap_bars(frame: pd.DataFrame, config: ProjectConfig, label_title: str) -> alt.Chart:
    """Gap per 1,000 mentions against the competitor average with its 95% CI; significant ones solid."""
    base = alt.Chart(frame).encode(
        y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("gap", order="descending")),
    )
    tooltip = [
        alt.Tooltip("label:N", title=label_title),
        alt.Tooltip("rate_per_1000:Q", title="Brand per 1,000", format=",.1f"),
        alt.Tooltip("competitor_rate:Q", title="Competitors per 1,000", format=",.1f"),
        alt.Tooltip("gap:Q", title="Gap", format="+,.1f"),
        alt.Tooltip("gap_ci_low:Q", title="95% CI low", format="+,.1f"),
        alt.Tooltip("gap_ci_high:Q", title="95% CI high", format="+,.1f"),
        alt.Tooltip("p_value:Q", title="p", format=".2g"),
        alt.Tooltip("q_value:Q", title="q (BH)", format=".2g"),
    ]
    bars = base.mark_bar().encode(
        x=alt.X("gap:Q", title="Gap vs competitors, per 1,000 mentions"),
        color=alt.Color(
            "verdict:N",
            scale=alt.Scale(domain=["higher (significant)", "lower (significant)", "not significant"],
                            range=["#D1495B", "#2E86AB", "#A0A0A0"]),
            title=None, legend=alt.Legend(orient="bottom"),
        ),
        tooltip=tooltip,
    )  # fmt: skip
    rules = base.mark_rule(color="#555").encode(x="gap_ci_low:Q", x2="gap_ci_high:Q", tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#999").encode(x="x:Q")
    return (bars + rules + zero).properties(height=max(220, 24 * frame["label"].nunique()))


def grouped_bars(
    frame: pd.DataFrame, config: ProjectConfig, y: str, label: str, title: str, fmt: str
) -> alt.Chart:
    """Horizontal bars per label, one per brand, in brand colours."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", title=None, sort=alt.EncodingSortField(y, op="max", order="descending")),
            yOffset=alt.YOffset("brand:N"),
            x=alt.X(f"{y}:Q", title=title, axis=alt.Axis(format=fmt)),
            color=_brand_color(config),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip(f"{label}:N", title="Label"),
                alt.Tooltip(f"{y}:Q", title=title, format=fmt),
                alt.Tooltip("posts:Q", title="Posts", format=",d"),
            ],
        )
        .properties(height=max(260, 14 * len(frame)))
    )


def diverging_gap(frame: pd.DataFrame, config: ProjectConfig) -> alt.Chart:
    """Brand content mix minus audience motive mix (points): + the brand offers more than asked for."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("gap_pts", order="descending")),
            x=alt.X("gap_pts:Q", title="Brand content minus audience (points)"),
            color=alt.condition("datum.gap_pts > 0", alt.value("#2E86AB"), alt.value("#D1495B")),
            tooltip=[
                alt.Tooltip("label:N", title="Motive"),
                alt.Tooltip("audience_mix:Q", title="Audience mix", format=".1%"),
                alt.Tooltip("brand_mix:Q", title="Brand content mix", format=".1%"),
                alt.Tooltip("gap_pts:Q", title="Gap (points)", format="+.1f"),
                alt.Tooltip("audience_posts:Q", title="Audience posts", format=",d"),
                alt.Tooltip("brand_posts:Q", title="Brand posts", format=",d"),
            ],
        )
        .properties(height=max(220, 24 * frame["label"].nunique()))
    )


def stacked_profile(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Per brand, the share of each label (emotion or formality)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("brand:N", title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("share:Q", stack="normalize", title=title, axis=alt.Axis(format="%")),
            color=alt.Color(
                "label:N", title=None, legend=alt.Legend(orient="bottom", columns=4, labelLimit=160)
            ),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("label:N", title="Label"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ]
            + ([alt.Tooltip("posts:Q", title="Posts", format=",d")] if "posts" in frame else []),
        )
        .properties(height=48 * frame["brand"].nunique() + 40)
    )


def activity_heatmap(frame: pd.DataFrame, timezone: str) -> alt.Chart:
    frame = frame.assign(day=frame["weekday"].map(lambda d: WEEKDAYS[d - 1]))
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title=f"Hour ({timezone})"),
            y=alt.Y("day:N", sort=WEEKDAYS, title=None),
            color=alt.Color("posts:Q", title="Posts", scale=alt.Scale(scheme="blues")),
            tooltip=[
                alt.Tooltip("day:N", title="Weekday"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("posts:Q", title="Audience posts", format=",d"),
            ],
        )
        .properties(height=260)
    )


def bars_by_brand(frame: pd.DataFrame, config: ProjectConfig, y: str, title: str, fmt: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("brand:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(format=fmt)),
            color=_brand_color(config),
            tooltip=[alt.Tooltip("brand:N", title="Brand"), alt.Tooltip(f"{y}:Q", title=title, format=fmt)],
        )
        .properties(height=280)
    )


def spike_chart(daily: pd.DataFrame, marks: pd.DataFrame, config: ProjectConfig) -> alt.Chart:
    """Daily mentions per brand with the spike days marked."""
    line = line_by_brand(daily, config, "mentions", "Mentions per day")
    if marks.empty:
        return line
    points = (
        alt.Chart(marks)
        .mark_point(shape="triangle-up", size=160, filled=True)
        .encode(
            x="period_start:T",
            y="mentions:Q",
            color=_brand_color(config),
            tooltip=[
                alt.Tooltip("brand:N", title="Brand"),
                alt.Tooltip("period_start:T", title="Day"),
                alt.Tooltip("metric:N", title="Spike in"),
                alt.Tooltip("value:Q", title="Value", format=",.3~f"),
                alt.Tooltip("baseline:Q", title="Baseline", format=",.3~f"),
                alt.Tooltip("score:Q", title="Score (z)", format=".1f"),
            ],
        )
    )
    return line + points

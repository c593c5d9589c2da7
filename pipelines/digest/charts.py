"""Charts of the digest as PNG bytes, identical for identical data.

matplotlib with the Agg backend, a fixed font (DejaVu Sans, shipped with matplotlib), fixed size and
DPI, and no metadata (``Software`` etc. removed), so rebuilding a week gives byte-identical images.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "svg.hashsalt": "listening",
}
SIZE = (6.4, 2.6)
DPI = 110
FALLBACK = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"optimize": False})
    return buffer.getvalue()


def _color(brand: dict, index: int) -> str:
    return brand.get("color") or FALLBACK[index % len(FALLBACK)]


def mentions_trend(brands: list[dict], trend: list[dict]) -> bytes:
    """Mentions per ISO week and brand (the last weeks up to the digest's)."""
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=SIZE)
        ax = fig.add_subplot()
        weeks = sorted({r["period_start"] for r in trend})
        for i, brand in enumerate(brands):
            values = {r["period_start"]: r["mentions"] for r in trend if r["brand_id"] == brand["id"]}
            ax.plot(range(len(weeks)), [values.get(w, 0) for w in weeks], marker="o", markersize=3,
                    linewidth=2 if i == 0 else 1.2, color=_color(brand, i), label=brand["name"])  # fmt: skip
        ax.set_xticks(range(len(weeks)), [f"W{w.isocalendar()[1]:02d}" for w in weeks])
        ax.set_ylabel("mentions per week")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False, ncol=len(brands))
        fig.tight_layout()
        return _png(fig)


def share_of_voice(kpis: list[dict], brands: list[dict]) -> bytes:
    """Share of voice per brand this week against last week."""
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=SIZE)
        ax = fig.add_subplot()
        colors = {b["id"]: _color(b, i) for i, b in enumerate(brands)}
        names = [k["name"] for k in kpis]
        now = [100 * k["share_of_voice"] for k in kpis]
        before = [100 * (k["share_of_voice_prev"] or 0) for k in kpis]
        y = range(len(kpis))
        ax.barh([i + 0.2 for i in y], before, height=0.35, color="#cccccc", label="last week")
        ax.barh(
            [i - 0.2 for i in y],
            now,
            height=0.35,
            color=[colors[k["brand_id"]] for k in kpis],
            label="this week",
        )
        for i, value in enumerate(now):
            ax.text(value + 0.5, i - 0.2, f"{value:.1f}%", va="center", fontsize=8)
        ax.set_yticks(list(y), names)
        ax.invert_yaxis()
        ax.set_xlabel("share of voice, %")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        return _png(fig)

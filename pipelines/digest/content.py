"""What a weekly digest says: every section computed from the marts of one week (docs/digest.md).

``digest_content`` returns plain data (dicts and lists, numbers exactly as in the marts) that the
renderers turn into HTML, Markdown, PDF and Slack text. Only the ``'*'`` slices (all sources, all
languages) are used. Nothing here reads a clock: the same marts give the same content.

Significant movements: every week-over-week change below is tested with the two-proportion z-test
(pooled) of ``pipelines.marts.stats``, the p-values of all of them are adjusted together with
Benjamini-Hochberg (one family per digest), and a change is a movement when ``q < 0.05`` and it is at
least as large as its minimum effect (``MIN_EFFECT``); a pain-point or motive movement also rests on
at least ``MIN_POSTS`` posts (this week's, or last week's for a fall). Spikes (``mart_spikes``, robust z-scores over a
28-day baseline) are movements by their own test and come first.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd

from nlp.taxonomy import load_taxonomy
from pipelines.digest.data import WeekData, week_name
from pipelines.digest.text import QuoteMasker, minutes, num, pct, pvalue, qvalue, signed
from pipelines.marts.evidence import evidence_posts
from pipelines.marts.stats import benjamini_hochberg, two_proportion_p
from pipelines.project import Project

ALPHA = 0.05
# Smallest change worth a movement, per kind (rates per 1,000 mentions; shares in percentage points).
MIN_EFFECT = {
    "pain_point": 10.0,
    "pain_gap": 10.0,
    "motive": 10.0,
    "negative_share": 2.0,
    "share_of_voice": 1.0,
}
# Fewest posts a pain-point or motive movement rests on: the pooled z-test overstates a handful of posts
# against a large competitor base (5 of 49 mentions against 7 of 1,000 reads as z 4.2).
MIN_POSTS = 10
QUOTE_POOL = 50  # most engaged posts behind a movement the quotes are picked from
UNMET_MOTIVE_PTS = -10.0  # motive gap (brand mix - audience mix) at or below this is an unmet motive
NEW_THEME_GROWTH = 0.5  # a theme growing at least this much (50 %) week over week is emerging


def _ok(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _z(x1, n1, x2, n2) -> float:
    """Pooled two-proportion z statistic (0 when undefined)."""
    if not (n1 and n2):
        return 0.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (x1 / n1 - x2 / n2) / se


class Labels:
    """Readable names of brands, pain points and motives (taxonomy plus config extras)."""

    def __init__(self, project: Project):
        config = project.config
        self.brands = {b.id: b.name for b in config.brands}
        self.colors = {b.id: b.color for b in config.brands}
        self.pains = {c.id: c.label for c in load_taxonomy("pain_points").categories}
        self.pains.update({c.id: c.label or c.id for c in config.nlp.extra_pain_points})
        self.motives = {c.id: c.label for c in load_taxonomy("motives").categories}
        self.motives.update({c.id: c.label or c.id for c in config.nlp.extra_motives})

    def brand(self, brand_id: str) -> str:
        return self.brands.get(brand_id, brand_id)

    def pain(self, pain_id: str) -> str:
        return self.pains.get(pain_id, pain_id.replace("_", " "))

    def motive(self, motive_id: str) -> str:
        return self.motives.get(motive_id, motive_id.replace("_", " "))


# -- quotes ---------------------------------------------------------------------------------------------
def quotes_for(
    project, masker: QuoteMasker, evidence, n: int, sentiment: str | None = None, facts=None
) -> list:
    """Up to ``n`` representative posts behind a mart row: most engaged first, then by post id; when
    ``sentiment`` is given, posts with that sentiment are preferred. Pseudonymised (``QuoteMasker``).
    ``facts``: the week's facts, opened once for every quote of the digest."""
    if n <= 0:
        return []
    posts = evidence_posts(project, evidence, limit=QUOTE_POOL, order="engaged", facts=facts).to_pylist()
    if sentiment:
        posts = [p for p in posts if p["sentiment_label"] == sentiment] + [
            p for p in posts if p["sentiment_label"] != sentiment
        ]
    out = []
    for post in posts[:n]:
        out.append({
            "post_id": post["post_id"],
            "text": masker(post["text"]),
            "source": post["source"],
            "language": post["language"],
            "date": post["created_at"].date().isoformat() if post["created_at"] else "",
        })  # fmt: skip
    return out


# -- sections -------------------------------------------------------------------------------------------
def kpis(week: WeekData, labels: Labels, brand_order: list[str]) -> list[dict]:
    rows = {r["brand_id"]: r for r in week.rows("mart_brand_kpis")}
    resp = {r["brand_id"]: r for r in week.rows("mart_responsiveness")}
    resp_prev = {r["brand_id"]: r for r in week.previous["mart_responsiveness"].to_pylist()}
    out = []
    for brand in brand_order:
        if brand not in rows:
            continue
        r = rows[brand]
        rate = resp.get(brand, {}).get("response_rate")
        rate_prev = resp_prev.get(brand, {}).get("response_rate")
        out.append({
            "brand_id": brand, "name": labels.brand(brand), "own": brand == brand_order[0],
            "mentions": r["mentions"], "mentions_prev": r["mentions_prev"],
            "mentions_change_pct": r["mentions_change_pct"],
            "share_of_voice": r["share_of_voice"], "share_of_voice_prev": r["share_of_voice_prev"],
            "share_change_pts": r["share_change_pts"], "net_sentiment": r["net_sentiment"], "net_sentiment_change": r["net_sentiment_change"],
            "negative_share": r["negative_share"], "negative_share_change_pts": r["negative_share_change_pts"],
            "response_rate": rate,
            "response_rate_change_pts": 100 * (rate - rate_prev) if _ok(rate) and _ok(rate_prev) else None,
        })  # fmt: skip
    return out


def _candidates(week: WeekData, labels: Labels) -> list[dict]:
    """Every week-over-week change that could be a movement, with its test."""
    kpi = {r["brand_id"]: r for r in week.rows("mart_brand_kpis")}
    total_prev = sum(r["mentions_prev"] or 0 for r in kpi.values())
    out = []
    for r in kpi.values():
        brand = labels.brand(r["brand_id"])
        if r["mentions_prev"] and total_prev:
            x2, n2 = r["mentions_prev"], total_prev
            out.append({
                "kind": "share_of_voice", "brand_id": r["brand_id"], "label": None,
                "effect": r["share_change_pts"], "z": _z(r["mentions"], r["total_mentions"], x2, n2),
                "p": float(two_proportion_p(r["mentions"], r["total_mentions"], x2, n2)),
                "evidence": r["evidence"], "sentiment": None,
                "title": f"{brand}: share of voice {'up' if r['share_change_pts'] > 0 else 'down'}",
                "numbers": (f"{pct(r['share_of_voice'])} of all brand mentions "
                            f"(last week {pct(r['share_of_voice_prev'])}, {signed(r['share_change_pts'], 1, ' pts')}); "
                            f"{num(r['mentions'])} mentions (last week {num(r['mentions_prev'])}, "
                            f"{signed(r['mentions_change_pct'], 0, '%')})"),
            })  # fmt: skip
        if r["mentions_prev"] and _ok(r["negative_share_prev"]) and _ok(r["negative_change_p"]):
            neg_prev = round(r["negative_share_prev"] * r["mentions_prev"])
            out.append({
                "kind": "negative_share", "brand_id": r["brand_id"], "label": None,
                "effect": r["negative_share_change_pts"],
                "z": _z(r["negative"], r["mentions"], neg_prev, r["mentions_prev"]),
                "p": r["negative_change_p"], "evidence": r["evidence"],
                "sentiment": "negative" if r["negative_share_change_pts"] > 0 else "positive",
                "title": f"{brand}: negative share {'up' if r['negative_share_change_pts'] > 0 else 'down'}",
                "numbers": (f"{pct(r['negative_share'])} of {num(r['mentions'])} mentions negative "
                            f"(last week {pct(r['negative_share_prev'])}, "
                            f"{signed(r['negative_share_change_pts'], 1, ' pts')}, {pvalue(r['negative_change_p'])}); "
                            f"net sentiment {num(r['net_sentiment'], 1)} ({signed(r['net_sentiment_change'], 1)})"),
            })  # fmt: skip
    for mart, kind, name in (
        ("mart_pain_points", "pain_point", labels.pain),
        ("mart_motives", "motive", labels.motive),
    ):
        for r in week.rows(mart):
            prev = kpi.get(r["brand_id"], {}).get("mentions_prev")
            if r["posts_prev"] is None or not prev or not r["mentions"] or not _ok(r["rate_change"]):
                continue
            brand, label = labels.brand(r["brand_id"]), name(r[kind])
            gap = (f"; competitors {num(r['competitor_rate'])} per 1,000 (gap {signed(r['gap'], 0)}, "
                   f"95% CI {num(r['gap_ci_low'])} to {num(r['gap_ci_high'])}, {qvalue(r['q_value'])})"
                   if _ok(r["competitor_rate"]) else "")  # fmt: skip
            out.append({
                "kind": kind, "brand_id": r["brand_id"], "label": r[kind], "label_name": label,
                "effect": r["rate_change"],
                "z": _z(r["posts"], r["mentions"], r["posts_prev"], prev),
                "p": float(two_proportion_p(r["posts"], r["mentions"], r["posts_prev"], prev)),
                "evidence": r["evidence"], "sentiment": "negative" if kind == "pain_point" else None,
                "posts": r["posts"] if r["rate_change"] > 0 else r["posts_prev"],
                "title": f"{brand}: {label.lower() if kind == 'pain_point' else label.lower() + ' motive'} "
                         f"{'rising' if r['rate_change'] > 0 else 'falling'}",
                "numbers": (f"{num(r['rate_per_1000'])} per 1,000 mentions ({num(r['posts'])} of "
                            f"{num(r['mentions'])}), last week {num(r['rate_prev'])} "
                            f"({signed(r['rate_change'], 0)}){gap}"),
                "row": {k: r[k] for k in ("rate_per_1000", "rate_prev", "rate_change", "competitor_rate", "gap",
                                          "q_value", "significant", "posts", "mentions")},
            })  # fmt: skip
    for r in week.rows("mart_pain_points"):
        # A competitive gap that opened or widened: significantly above the competitor average with more
        # posts than last week (the mart's own test, adjusted again with the rest of this family).
        if not (
            r["significant"] and r["gap"] > 0 and r["posts_prev"] is not None and r["posts"] > r["posts_prev"]
        ):
            continue
        brand, label = labels.brand(r["brand_id"]), labels.pain(r["pain_point"])
        out.append({
            "kind": "pain_gap", "brand_id": r["brand_id"], "label": r["pain_point"], "label_name": label,
            "effect": r["gap"],
            "z": _z(r["posts"], r["mentions"], r["competitor_posts"], r["competitor_mentions"]),
            "p": r["p_value"], "evidence": r["evidence"], "sentiment": "negative", "posts": r["posts"],
            "title": f"{brand}: {label.lower()} well above competitors",
            "numbers": (f"{num(r['rate_per_1000'])} per 1,000 mentions ({num(r['posts'])} of {num(r['mentions'])}; "
                        f"last week {num(r['posts_prev'])} posts, {num(r['rate_prev'])} per 1,000) against "
                        f"{num(r['competitor_rate'])} for competitors: gap {signed(r['gap'], 0)} "
                        f"(95% CI {num(r['gap_ci_low'])} to {num(r['gap_ci_high'])}, {qvalue(r['q_value'])} in the "
                        f"pain-point family)"),
        })  # fmt: skip
    if out:
        q = benjamini_hochberg(pd.Series([c["p"] for c in out], dtype=float)).to_numpy()
        for c, value in zip(out, q, strict=True):
            c["q"] = None if np.isnan(value) else float(value)
    return out


def _spikes(week: WeekData, labels: Labels) -> list[dict]:
    """One movement per brand with spike days this week (its strongest day's numbers first)."""
    by_brand: dict[str, list[dict]] = defaultdict(list)
    for r in week.rows("mart_spikes", period="day"):
        by_brand[r["brand_id"]].append(r)
    out = []
    for brand_id, rows in by_brand.items():
        days = sorted({r["period_start"] for r in rows})
        top = max(rows, key=lambda r: (r["score"], r["metric"]))
        day_rows = sorted(
            (r for r in rows if r["period_start"] == top["period_start"]),
            key=lambda r: r["metric"],
            reverse=True,
        )
        parts = []
        for r in day_rows:
            if r["metric"] == "volume":
                parts.append(f"{num(r['value'])} mentions against a baseline of {num(r['baseline'], 1)} a day "
                             f"(robust z {num(r['score'], 1)})")  # fmt: skip
            else:
                parts.append(f"negative share {pct(r['value'])} against {pct(r['baseline'])} "
                             f"(z {num(r['score'], 1)})")  # fmt: skip
        pains = [labels.pain(p) for p in day_rows[0]["top_pain_points"]]
        drivers = sorted({i for r in day_rows for i in r["driver_post_ids"]})
        negative = any(r["metric"] == "negative_share" for r in day_rows)
        when = top["period_start"].strftime("%A %d %B").replace(" 0", " ")
        title = f"{labels.brand(brand_id)}: spike on {when}"
        if len(days) > 1:
            title = f"{labels.brand(brand_id)}: spikes on {len(days)} days, strongest on {when}"
        numbers = f"{top['period_start'].isoformat()}: " + "; ".join(parts)
        if pains:
            numbers += f"; top pain points: {', '.join(pains)}"
        if len(days) > 1:
            numbers += f"; spike days: {', '.join(d.isoformat() for d in days)}"
        out.append({
            "kind": "spike", "brand_id": brand_id, "label": top["period_start"].isoformat(), "effect": None,
            "z": top["score"], "p": None, "q": None,
            "evidence": json.dumps({"post_ids": drivers, "period": "day", "period_start": top["period_start"].isoformat()}),
            "sentiment": "negative" if negative else None,
            "title": title, "numbers": numbers, "metrics": sorted({r["metric"] for r in rows}),
            "top_pain_points": list(day_rows[0]["top_pain_points"]), "top_pain_labels": pains,
            "day": top["period_start"].isoformat(),
            "days": [d.isoformat() for d in days],
        })  # fmt: skip
    return sorted(out, key=lambda c: (-c["z"], c["brand_id"]))


def movements(project, week, labels, masker, candidates) -> list[dict]:
    """Spikes, then significant changes by strength of evidence (|z|), at most ``max_movements``."""
    settings = project.config.digest
    tested = [
        c for c in candidates
        if c["q"] is not None and c["q"] < ALPHA and _ok(c["effect"]) and abs(c["effect"]) >= MIN_EFFECT[c["kind"]]
        and c.get("posts", MIN_POSTS) >= MIN_POSTS
    ]  # fmt: skip
    tested.sort(key=lambda c: (-abs(c["z"]), c["brand_id"], c["kind"], c["label"] or ""))
    seen, unique = set(), []
    for c in tested:  # a pain point's change and its gap are one story: keep the stronger
        key = (c["brand_id"], c["label"]) if c["kind"] in ("pain_point", "pain_gap") else id(c)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    tested = unique
    chosen = (_spikes(week, labels) + tested)[: settings.max_movements]
    facts = None
    if chosen and settings.quotes_per_item:
        from pipelines.marts.facts import Settings, open_facts

        facts = open_facts(project, Settings.of(project), week.start, week.end)
    try:
        for c in chosen:
            if c["q"] is not None:
                c["numbers"] += f" — change significant ({qvalue(c['q'])}, z {num(c['z'], 1)})"
            c["quotes"] = quotes_for(
                project, masker, c["evidence"], settings.quotes_per_item, c["sentiment"], facts
            )
    finally:
        if facts is not None:
            facts.con.close()
    return chosen


def pain_point_lists(week: WeekData, labels: Labels, brand_order: list[str], n: int) -> list[dict]:
    by_brand: dict[str, list[dict]] = defaultdict(list)
    for r in week.rows("mart_pain_points"):
        if _ok(r["rate_change"]) and r["rate_change"] != 0:
            by_brand[r["brand_id"]].append(r)
    out = []
    for brand in brand_order:
        rows = by_brand.get(brand, [])
        item = lambda r: {  # noqa: E731
            "label": labels.pain(r["pain_point"]), "pain_point": r["pain_point"],
            "rate": r["rate_per_1000"], "rate_prev": r["rate_prev"], "change": r["rate_change"],
            "posts": r["posts"], "competitor_rate": r["competitor_rate"], "significant_gap": r["significant"],
        }  # fmt: skip
        rising = sorted(
            (r for r in rows if r["rate_change"] > 0), key=lambda r: (-r["rate_change"], r["pain_point"])
        )
        falling = sorted(
            (r for r in rows if r["rate_change"] < 0), key=lambda r: (r["rate_change"], r["pain_point"])
        )
        out.append({
            "brand_id": brand, "name": labels.brand(brand), "own": brand == brand_order[0],
            "rising": [item(r) for r in rising[:n]], "falling": [item(r) for r in falling[:n]],
        })  # fmt: skip
    return out


def gaps(week: WeekData, labels: Labels, own: str) -> list[dict]:
    """Gaps worth acting on: where we are significantly worse than the competitor average, and where a
    competitor is significantly worse than us (``mart_pain_point_gaps``, ours against each competitor)."""
    out = []
    for r in week.rows("mart_pain_points"):
        if r["brand_id"] == own and r["significant"] and r["gap"] > 0:
            out.append({
                "kind": "we_are_worse", "pain_point": r["pain_point"], "label": labels.pain(r["pain_point"]),
                "competitor_id": None, "competitor": "competitors (average)", "rate": r["rate_per_1000"],
                "competitor_rate": r["competitor_rate"], "gap": r["gap"], "ci_low": r["gap_ci_low"],
                "ci_high": r["gap_ci_high"], "q": r["q_value"],
            })  # fmt: skip
    for r in week.rows("mart_pain_point_gaps", period=None):
        if r["brand_id"] == own and r["significant"] and r["gap"] < 0:
            out.append({
                "kind": "competitor_is_worse", "pain_point": r["pain_point"],
                "label": labels.pain(r["pain_point"]), "competitor_id": r["competitor_id"],
                "competitor": labels.brand(r["competitor_id"]), "rate": r["rate_per_1000"],
                "competitor_rate": r["competitor_rate"], "gap": r["gap"], "ci_low": r["gap_ci_low"],
                "ci_high": r["gap_ci_high"], "q": r["q_value"],
            })  # fmt: skip
    return sorted(
        out, key=lambda g: (g["kind"] != "we_are_worse", -abs(g["gap"]), g["pain_point"], g["competitor"])
    )


def themes(week: WeekData, labels: Labels, masker: QuoteMasker, n: int) -> list[dict]:
    out = []
    for r in week.marts["themes"].to_pylist():
        new = r["first_seen"] == week.start
        growing = _ok(r["growth"]) and r["growth"] >= NEW_THEME_GROWTH
        if not (r["novel"] or new or growing):
            continue
        out.append({
            "label": r["label"], "posts": r["posts"], "novel": r["novel"], "new": new, "growth": r["growth"],
            "brands": [labels.brand(b) for b in r["brands"]], "brand_ids": list(r["brands"]),
            "languages": list(r["languages"]), "pain_point": labels.pain(r["pain_point"]) if r["pain_point"] else None,
            "first_seen": r["first_seen"].isoformat(), "quote": masker(r["representative_quote"]),
        })  # fmt: skip
    return sorted(out, key=lambda t: (-t["posts"], t["label"]))[:n]


def motives(week: WeekData, labels: Labels, candidates: list[dict], own: str, n: int) -> dict:
    tests = {(c["brand_id"], c["label"]): c for c in candidates if c["kind"] == "motive"}
    shifts = []
    for r in week.rows("mart_motives"):
        if not _ok(r["rate_change"]) or r["rate_change"] == 0:
            continue
        test = tests.get((r["brand_id"], r["motive"]))
        shifts.append({
            "brand_id": r["brand_id"], "name": labels.brand(r["brand_id"]), "motive": r["motive"],
            "label": labels.motive(r["motive"]), "rate": r["rate_per_1000"], "rate_prev": r["rate_prev"],
            "change": r["rate_change"], "mix": r["mix"],
            "significant": bool(test and test["q"] is not None and test["q"] < ALPHA),
        })  # fmt: skip
    shifts.sort(key=lambda s: (-abs(s["change"]), s["brand_id"], s["motive"]))
    unmet = [
        {"motive": r["motive"], "label": labels.motive(r["motive"]), "audience_mix": r["audience_mix"],
         "brand_mix": r["brand_mix"], "gap_pts": r["gap_pts"]}
        for r in week.rows("mart_motive_gap")
        if r["brand_id"] == own and _ok(r["gap_pts"]) and r["gap_pts"] <= UNMET_MOTIVE_PTS
    ]  # fmt: skip
    unmet.sort(key=lambda u: (u["gap_pts"], u["motive"]))
    return {"shifts": shifts[: 2 * n], "unmet": unmet[:n]}


def responsiveness(week, labels, masker, brand_order: list[str], n_examples: int) -> dict:
    rows = {r["brand_id"]: r for r in week.rows("mart_responsiveness")}
    prev = {r["brand_id"]: r for r in week.previous["mart_responsiveness"].to_pylist()}
    unanswered = week.marts["mart_unanswered"].to_pylist()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"question": 0, "complaint": 0})
    for u in unanswered:
        counts[u["brand_id"]][u["kind"]] += 1
    brands = []
    for brand in brand_order:
        r, p = rows.get(brand), prev.get(brand, {})
        if r is None:
            continue
        rate, rate_prev = r["response_rate"], p.get("response_rate")
        brands.append({
            "brand_id": brand, "name": labels.brand(brand), "own": brand == brand_order[0],
            "eligible": r["eligible"], "answered": r["answered"], "response_rate": rate,
            "response_rate_prev": rate_prev,
            "change_pts": 100 * (rate - rate_prev) if _ok(rate) and _ok(rate_prev) else None,
            "median": minutes(r["median_response_minutes"]), "p90": minutes(r["p90_response_minutes"]),
            "median_minutes": r["median_response_minutes"],
            "unanswered_questions": counts[brand]["question"], "unanswered_complaints": counts[brand]["complaint"],
        })  # fmt: skip
    own = brand_order[0]
    mine = sorted(
        (u for u in unanswered if u["brand_id"] == own), key=lambda u: (u["created_at"], u["post_id"])
    )
    examples = [
        {"kind": u["kind"], "text": masker(u["text"]), "source": u["source"], "language": u["language"],
         "date": u["created_at"].date().isoformat(), "post_id": u["post_id"]}
        for u in mine[:n_examples]
    ]  # fmt: skip
    return {"brands": brands, "examples": examples, "own_unanswered": len(mine)}


def switching(week: WeekData, labels: Labels) -> dict:
    rows = week.rows("mart_switching")
    flows = sorted(rows, key=lambda r: (-r["posts"], r["from_brand"], r["to_brand"]))
    net: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["from_brand"] != "unknown":
            net[r["from_brand"]] -= r["posts"]
        if r["to_brand"] != "unknown":
            net[r["to_brand"]] += r["posts"]
    name = lambda b: "unnamed brand" if b == "unknown" else labels.brand(b)  # noqa: E731
    return {
        "total": sum(r["posts"] for r in rows),
        "total_prev": sum(r["posts"] for r in week.previous["mart_switching"].to_pylist()),
        "flows": [{"from_id": r["from_brand"], "to_id": r["to_brand"], "from": name(r["from_brand"]),
                   "to": name(r["to_brand"]), "posts": r["posts"]} for r in flows[:8]],
        "net": [{"brand_id": b, "name": labels.brand(b), "net": v} for b, v in sorted(net.items(), key=lambda kv: (-kv[1], kv[0]))],
    }  # fmt: skip


def methodology(project: Project, week: WeekData) -> dict:
    """Sources, languages and volumes of the week, and what was left out (counted in the enriched layer)."""
    import duckdb

    from pipelines.marts.facts import enriched_source

    config = project.config
    rows = week.rows("mart_brand_kpis", all_slices=False)
    by_source = sorted(
        ((r["source"], r["mentions"]) for r in rows if r["language"] == "*" and r["source"] != "*"),
        key=lambda kv: kv[0],
    )
    sources: dict[str, int] = defaultdict(int)
    for source, mentions in by_source:
        sources[source] += mentions
    languages: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["source"] == "*" and r["language"] != "*":
            languages[r["language"]] += r["mentions"]
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = ?", [config.timezone])
        counts = con.sql(
            f"""
            SELECT CAST(COUNT(*) AS BIGINT),
                   CAST(COUNT(*) FILTER (WHERE is_deleted) AS BIGINT),
                   CAST(COUNT(*) FILTER (WHERE NOT is_deleted AND is_brand_account) AS BIGINT),
                   CAST(COUNT(*) FILTER (WHERE NOT is_deleted AND NOT is_brand_account AND is_likely_bot) AS BIGINT),
                   CAST(COUNT(*) FILTER (WHERE NOT is_deleted AND NOT is_brand_account AND len(brands) = 0) AS BIGINT)
            FROM {enriched_source(project)}
            WHERE date BETWEEN CAST($utc_lo AS DATE) AND CAST($utc_hi AS DATE)
              AND CAST(timezone(current_setting('TimeZone'), created_at) AS DATE) BETWEEN $lo AND $hi
            """,
            params={"utc_lo": (week.start - dt.timedelta(days=1)).isoformat(),
                    "utc_hi": (week.end + dt.timedelta(days=1)).isoformat(), "lo": week.start, "hi": week.end},
        ).fetchall()[0]  # fmt: skip
    finally:
        con.close()
    total, deleted, brand_posts, bots, no_brand = counts
    kpi = week.rows("mart_brand_kpis")
    include_bots = config.marts.include_likely_bots
    return {
        "posts": total, "deleted": deleted, "brand_posts": brand_posts, "likely_bots": bots,
        "bots_included": include_bots, "no_brand": no_brand,
        "mentions": sum(r["mentions"] for r in kpi),
        "sources": [{"source": s, "mentions": m} for s, m in sorted(sources.items())],
        "languages": [{"language": lang, "mentions": m} for lang, m in sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))],
        "languages_of_interest": list(config.languages), "timezone": config.timezone,
        "response_window_days": config.marts.response_window_days,
    }  # fmt: skip


def digest_content(project: Project, week: WeekData) -> dict:
    from pipelines.digest.rules import recommended_actions

    config = project.config
    settings = config.digest
    labels = Labels(project)
    masker = QuoteMasker(config)
    own = config.own_brand.id
    brand_order = [own] + [b.id for b in config.brands if b.id != own]
    candidates = _candidates(week, labels)
    content = {
        "project": config.project, "market": config.market, "week": week.week,
        "start": week.start.isoformat(), "end": week.end.isoformat(),
        "previous_week": week_name(week.start - dt.timedelta(days=7)),
        "own": {"id": own, "name": labels.brand(own)},
        "brands": [{"id": b, "name": labels.brand(b), "color": labels.colors.get(b)} for b in brand_order],
        "kpis": kpis(week, labels, brand_order),
        "movements": movements(project, week, labels, masker, candidates),
        "pain_points": pain_point_lists(week, labels, brand_order, settings.items_per_list),
        "gaps": gaps(week, labels, own),
        "themes": themes(week, labels, masker, settings.items_per_list * 2),
        "motives": motives(week, labels, candidates, own, settings.items_per_list),
        "responsiveness": responsiveness(week, labels, masker, brand_order, settings.unanswered_examples),
        "switching": switching(week, labels),
        "methodology": methodology(project, week),
        "candidates_tested": len(candidates),
    }  # fmt: skip
    content["actions"] = recommended_actions(content)
    for m in content["movements"]:
        m.pop("row", None)
    return content

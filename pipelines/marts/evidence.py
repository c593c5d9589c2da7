"""From a mart row back to the posts behind it (drill-down).

Every mart row carries ``evidence``: a JSON filter naming the brand, period and slice ('*' = all) and,
where the row is about a label, the label (``pain_point``, ``motive``, ``intent``, ``emotion``,
``formality``, ``weekday``/``hour``, ``from_brand``/``to_brand``), or the ``post_ids`` themselves.
The dashboard widens a filter to a date range (``period_end``) and to several sources or languages
(lists), so a number summed over many mart rows drills down the same way.
``evidence_posts`` applies that filter to the same facts the metric was computed from, so the posts it
returns are exactly the ones counted.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from pipelines.marts.facts import Facts, Settings, open_facts
from pipelines.project import Project

_LIST_LABELS = {"pain_point": "pains", "motive": "motives", "intent": "intents"}
_SCALAR_LABELS = ("emotion", "formality")


def _period(spec: dict) -> tuple[dt.date | None, dt.date | None]:
    if "period_start" not in spec:
        return None, None
    start = dt.date.fromisoformat(spec["period_start"])
    if "period_end" in spec:
        return start, dt.date.fromisoformat(spec["period_end"])
    return start, start + dt.timedelta(days=6 if spec.get("period") == "week" else 0)


_ORDER = {
    "oldest": "e.created_at, e.post_id",
    "engaged": "COALESCE(e.likes, 0) + COALESCE(e.reposts, 0) + COALESCE(e.replies, 0) DESC, e.post_id",
}


def _prefilter(spec: dict) -> tuple[str, dict] | None:
    """A cheap condition on enriched rows that every post the spec selects meets (see open_facts)."""
    if "post_ids" in spec:
        return "list_contains($pre_ids, post_id)", {"pre_ids": list(spec["post_ids"])}
    if spec.get("brand_account") or "from_brand" in spec or "brand_id" not in spec:
        return None
    where, params = ["list_contains(brands, $pre_brand)"], {"pre_brand": spec["brand_id"]}
    for key, column in (("pain_point", "pain_points"), ("motive", "motives")):
        if key in spec:
            where.append(f"list_contains(list_transform(COALESCE({column}, []), lambda p: p.id), $pre_{key})")
            params[f"pre_{key}"] = spec[key]
    if "intent" in spec:
        where.append("list_contains(COALESCE(intents, []), $pre_intent)")
        params["pre_intent"] = spec["intent"]
    return " AND ".join(where), params


def _covers(facts: Facts, lo: dt.date | None, hi: dt.date | None) -> bool:
    if facts.read_start is None and facts.read_end is None:
        return True
    return lo is not None and facts.read_start <= lo and hi <= facts.read_end


def evidence_posts(
    project: Project,
    evidence: str | dict,
    limit: int = 100,
    order: str = "oldest",
    facts: Facts | None = None,
) -> pa.Table:
    """The posts behind a mart row, oldest (or most engaged) first, at most ``limit``.

    ``facts``: facts already open (``open_facts``) whose days cover the row's period, reused instead of
    loading them again when several rows of one period are drilled into (ignored when they do not cover
    it or were opened with other settings)."""
    spec = json.loads(evidence) if isinstance(evidence, str) else dict(evidence)
    settings = Settings.of(project, spec.get("include_bots"))
    lo, hi = _period(spec)
    if facts is None or facts.settings != settings or not _covers(facts, lo, hi):
        facts = open_facts(project, settings, lo, hi, prefilter=_prefilter(spec), bounds=False)
    params: dict = {"limit": limit}
    if "post_ids" in spec:
        table, where = "posts_f", ["list_contains($ids, x.post_id)"]
        params["ids"] = list(spec["post_ids"])
    elif spec.get("brand_account"):
        table, where = "brand_posts", ["x.brand_id = $brand"]
        params["brand"] = spec["brand_id"]
    elif "from_brand" in spec:
        table, where = (
            "audience",
            [
                "(list_contains(x.intents, 'churn_intent') OR len(x.switch_from) > 0 OR len(x.switch_to) > 0)",
                "(CASE WHEN $from = 'unknown' THEN len(x.switch_from) = 0 ELSE list_contains(x.switch_from, $from) END)",
                "(CASE WHEN $to = 'unknown' THEN len(x.switch_to) = 0 ELSE list_contains(x.switch_to, $to) END)",
            ],
        )
        params.update({"from": spec["from_brand"], "to": spec["to_brand"]})
    else:
        table, where = "mentions", ["x.brand_id = $brand"]
        params["brand"] = spec["brand_id"]
        for key, column in _LIST_LABELS.items():
            if key in spec:
                where.append(f"list_contains(x.{column}, ${key})")
                params[key] = spec[key]
        for key in _SCALAR_LABELS:
            if key in spec:
                where.append(f"x.{key} = ${key}")
                params[key] = spec[key]
        if spec.get("has_author"):
            where.append("x.author_id IS NOT NULL")
        if spec.get("eligible"):
            where.append("(list_contains(x.intents, 'question') OR list_contains(x.intents, 'complaint'))")
        if "weekday" in spec:
            where.append("isodow(x.local_ts) = $weekday AND hour(x.local_ts) = $hour")
            params.update(weekday=int(spec["weekday"]), hour=int(spec["hour"]))
    for key in ("source", "language"):
        value = spec.get(key, "*")
        if isinstance(value, list):
            where.append(f"list_contains(${key}, x.{key})")
            params[key] = value
        elif value != "*":
            where.append(f"x.{key} = ${key}")
            params[key] = value
    days = ""
    if lo is not None:  # the period itself (facts may span more), and only the partitions that can hold it
        where.append("x.day BETWEEN $lo AND $hi")
        days = "AND e.date BETWEEN CAST($utc_lo AS DATE) AND CAST($utc_hi AS DATE)"
        params.update(lo=lo, hi=hi, utc_lo=(lo - dt.timedelta(days=1)).isoformat(),
                      utc_hi=(hi + dt.timedelta(days=1)).isoformat())  # fmt: skip
    sql = f"""
        WITH hits AS (SELECT DISTINCT x.post_id FROM {table} x WHERE {" AND ".join(where)})
        SELECT e.post_id, e.created_at, e.source, e.language, e.text, e.url, e.sentiment_label,
               e.author_id, e.likes, e.reposts, e.replies, e.brand_mentions, e.pain_points, e.motives,
               e.label_evidence
        FROM enriched e
        WHERE e.post_id IN (SELECT post_id FROM hits) {days}
        ORDER BY {_ORDER[order]} LIMIT $limit
    """
    return facts.con.sql(sql, params=params).to_arrow_table()

"""The marts against docs/metrics.md: hand-computed expectations on small hand-built enriched layers.

Three layers are built once per module (no NLP models needed):

* ``main``: one section per metric, each in its own ISO week so the sections do not mix (timezone
  Europe/Warsaw, so March before the 29th is UTC+1 and the rest UTC+2);
* ``crowd``: a steady daily series with planted spikes, and 120 authors for the 1/9/90 rule;
* ``incremental``: a random layer built, altered and built again, against a fresh full build.

Every expected number is worked out by hand in the comments, from the definitions, not from the SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy.stats import norm

from pipelines.marts import build_marts, evidence_posts
from pipelines.marts.build import _validate
from pipelines.marts.facts import Settings
from pipelines.project import Project, open_project
from pipelines.validation import ValidationFailed
from schemas.tables import MARTS
from tests.conftest import write_project
from tests.marts_fixtures import aid, pid, post, write_enriched

BRANDS = ("korvo", "kvik", "mercato", "zesta")
ALL = "*"


# --- helpers -------------------------------------------------------------------------------------------


@dataclass
class Built:
    project: Project
    marts: dict[str, pa.Table]
    with_bots: dict[str, pa.Table] | None = None

    def df(self, name: str, bots: bool = False) -> pd.DataFrame:
        return (self.with_bots if bots else self.marts)[name].to_pandas()


def new_project(factory, name: str) -> Project:
    return open_project(write_project(factory.mktemp(name), sources=[]))


def snapshot(project: Project) -> dict[str, pa.Table]:
    return {name: project.storage.read_parquet(project.storage.mart_path(name)) for name in MARTS}


def select(df: pd.DataFrame, **keys) -> pd.DataFrame:
    """Rows matching ``keys``; ``period_start`` as ISO text; source/language default to '*' (None: any)."""
    for column in ("source", "language"):
        if column in df.columns:
            keys.setdefault(column, ALL)
    for key, value in keys.items():
        if value is None:
            continue
        if key == "period_start":
            value = dt.date.fromisoformat(value)
        df = df[df[key] == value]
    return df


def one(df: pd.DataFrame, **keys) -> pd.Series:
    rows = select(df, **keys)
    assert len(rows) == 1, f"{len(rows)} rows for {keys}"
    return rows.iloc[0]


def close(actual, expected, tol: float = 1e-6) -> bool:
    return math.isclose(float(actual), expected, rel_tol=tol, abs_tol=tol)


def is_null(value) -> bool:
    return value is None or pd.isna(value)


def ids(*names: str) -> list[str]:
    return sorted(pid(n) for n in names)


def evidence_ids(project: Project, row: pd.Series) -> list[str]:
    return sorted(evidence_posts(project, row["evidence"], limit=1000).column("post_id").to_pylist())


def bs(brand: str, label: str) -> dict:
    return {"brand_id": brand, "sentiment_label": label, "sentiment_score": 0.0}


# Reference statistics, written from the textbook formulas (not from pipelines.marts.stats).
Z95 = norm.ppf(0.975)


def pooled_z_p(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * norm.sf(abs(z))


def wilson(x: int, n: int) -> tuple[float, float]:
    p, z2 = x / n, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def newcombe_per_1000(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return 1000 * low, 1000 * high


# --- the main layer ------------------------------------------------------------------------------------

# KPIs, week 2026-03-02 (the first day of data; CET = UTC+1).
D0302, D0304, D0305, D0310 = (f"2026-03-{d}T10:00+01:00" for d in ("02", "04", "05", "10"))
# Pain points: 2026-04-07 (planted gap), 2026-04-14 (a tiny sample). CEST = UTC+2 from here on.
D0407, D0414 = "2026-04-07T12:00+02:00", "2026-04-14T12:00+02:00"
D0421 = "2026-04-21T12:00+02:00"  # motives and tone
D0512 = "2026-05-12T12:00+02:00"  # switching
D0526 = "2026-05-26T10:00+02:00"  # top voices


def kpi_posts() -> list[dict]:
    return [
        # 2026-03-02: korvo 5 (pos k1 c1 c2, neu k3, neg k2), kvik 2 (pos v1, neg c1), mercato 1 (neg c2).
        post("k1", D0302, ["korvo"], sentiment="positive"),
        post("k2", D0302, ["korvo"], sentiment="negative", language="pl"),
        post("k3", D0302, ["korvo"], source="bluesky"),
        post("v1", D0302, ["kvik"], sentiment="positive"),
        # Comparisons: the per-brand opinion overrides the post's; mercato has none, so it takes the post's.
        post("c1", D0302, ["korvo", "kvik"], brand_sentiments=[bs("korvo", "positive"), bs("kvik", "negative")]),
        post("c2", D0302, ["korvo", "mercato"], sentiment="negative", source="bluesky",
             brand_sentiments=[bs("korvo", "positive")]),
        # Not mentions: a brand account's own post, a deleted post.
        post("ka1", D0302, ["korvo"], sentiment="negative", brand_account="korvo"),
        post("del1", D0302, ["korvo"], sentiment="negative", deleted=True),
        # 2026-03-03 silent. 2026-03-04: korvo 2 (neg, neg), kvik 1 (neu).
        post("k4", D0304, ["korvo"], sentiment="negative"),
        post("k5", D0304, ["korvo"], sentiment="negative"),
        post("v2", D0304, ["kvik"]),
        # 2026-03-05: korvo 3 (pos, pos, neg), kvik 1 (neg).
        post("k6", D0305, ["korvo"], sentiment="positive"),
        post("k7", D0305, ["korvo"], sentiment="positive"),
        post("k8", D0305, ["korvo"], sentiment="negative"),
        post("v3", D0305, ["kvik"], sentiment="negative"),
        # Week 2026-03-09: korvo 1 (pos), kvik 1 (pos), mercato silent.
        post("k9", D0310, ["korvo"], sentiment="positive"),
        post("v4", D0310, ["kvik"], sentiment="positive"),
    ]  # fmt: skip


def pain_posts() -> list[dict]:
    rows = [post(f"pk{i}", D0407, ["korvo"], pains=["delays"] if i < 20 else []) for i in range(40)]
    rows += [post(f"pv{i}", D0407, ["kvik"], pains=["delays"] if i < 3 else []) for i in range(30)]
    rows += [post(f"pm{i}", D0407, ["mercato"], pains=["delays"] if i < 2 else []) for i in range(30)]
    rows += [
        post("pka", D0407, ["korvo"], pains=["delays"], brand_account="korvo"),  # not a mention
        post("pdel", D0407, ["korvo"], pains=["delays"], deleted=True),
        # Tiny sample: korvo 1/2 lost_items against kvik 0/2.
        post("tk0", D0414, ["korvo"], pains=["lost_items"]),
        post("tk1", D0414, ["korvo"]),
        post("tv0", D0414, ["kvik"]),
        post("tv1", D0414, ["kvik"]),
    ]
    return rows


def motive_posts() -> list[dict]:
    return [
        post("mo1", D0421, ["korvo"], motives=["discounts"], emotion="joy", formality="casual"),
        post("mo2", D0421, ["korvo"], motives=["discounts", "purchases"], emotion="joy", formality="casual"),
        post("mo3", D0421, ["korvo"], motives=["community"], emotion="anger", formality="formal"),
        post("mo4", D0421, ["korvo"]),
        post("mv1", D0421, ["kvik"], motives=["discounts"]),
        post("mv2", D0421, ["kvik"]),
        post("mb1", D0421, ["korvo"], motives=["discounts"], brand_account="korvo"),
        post("mb2", D0421, ["korvo"], motives=["discounts"], brand_account="korvo"),
        post("mb3", D0421, ["korvo"], motives=["new_products"], brand_account="korvo"),
        post("mb4", D0421, ["korvo"], motives=["events"], brand_account="korvo"),
    ]


def response_posts() -> list[dict]:
    def at(day: str, hm: str) -> str:
        return f"2026-{day}T{hm}+02:00"

    def reply(name, when, to, brand="korvo"):
        return post(name, when, [brand], brand_account=brand, reply_to=to)

    day = "05-05"
    return [
        post("q1", at(day, "10:00"), ["korvo"], intents=["question"]),
        reply("r1", at(day, "10:30"), "q1"),  # 30 min
        post("q2", at(day, "11:00"), ["korvo"], intents=["question"]),
        post("f2", at(day, "11:10"), [], reply_to="q2"),  # the asker follows up twice
        post("f2b", at(day, "11:20"), [], reply_to="f2"),
        reply("r2", at(day, "13:00"), "f2b"),  # three levels below q2: 120 min
        post("q3", at(day, "12:00"), ["korvo"], intents=["complaint"]),
        reply("r3", at("05-19", "12:01"), "q3"),  # 14 days and 1 minute: too late
        post("q4", at(day, "09:00"), ["korvo"], intents=["question", "complaint"]),
        reply("r4", at(day, "08:50"), "q4"),  # clock skew: 10 min before the question -> 0 min
        post("q5", at(day, "14:00"), ["korvo"], intents=["complaint"]),
        reply("r5", at(day, "14:05"), "q5", brand="kvik"),  # another brand's reply does not answer it
        post("q6", at(day, "15:00"), ["korvo"], intents=["complaint"]),
        reply("r6", at("05-06", "01:00"), "q6"),  # 600 min
        post("q7", at(day, "10:00"), ["kvik"], intents=["question"]),
        reply("r7", at(day, "11:00"), "q7", brand="kvik"),  # 60 min
        post("n1", at(day, "16:00"), ["korvo"], intents=["praise"]),
        post("o1", at("05-06", "09:00"), ["korvo"], brand_account="korvo"),  # an original post
    ]


def switching_posts() -> list[dict]:
    def churn(name, sf, st, intents=("churn_intent",), **kw):
        brands = sorted(set(sf) | set(st)) or ["korvo"]
        return post(name, D0512, brands, intents=list(intents), switch_from=sf, switch_to=st, **kw)

    return [
        churn("s1", ["korvo"], ["kvik"]),
        churn("s2", ["korvo"], []),
        churn("s3", [], ["mercato"], intents=()),  # a named side is enough without churn intent
        churn("s4", [], []),  # unknown -> unknown: left out
        churn("s5", ["kvik", "mercato"], ["korvo"]),  # two flows
        churn("s6", ["korvo"], ["korvo"]),  # to itself: left out
        churn("s7", ["korvo"], ["kvik"], brand_account="mercato"),  # a brand account is not the audience
        churn("s9", ["korvo"], ["kvik"], language="pl"),
    ]


def top_voice_posts() -> list[dict]:
    def tv(name, author, sentiment, followers, likes=0, minute=0):
        when = f"2026-05-26T10:{minute:02d}+02:00"
        return post(
            name, when, ["korvo"], sentiment=sentiment, author=author, followers=followers, likes=likes
        )

    return [
        tv("tvA1", "ann", "positive", 100, likes=1, minute=0),
        tv("tvA2", "ann", "positive", 150, likes=2, minute=1),
        tv("tvA3", "ann", "negative", 120, likes=3, minute=2),
        tv("tvB1", "bob", "positive", 5000),
        tv("tvB2", "bob", "positive", 5000),
        tv("tvC1", "cat", "positive", 50),
        tv("tvC2", "cat", "neutral", 50),
        tv("tvD1", "dan", "negative", 10),
        tv("tvD2", "dan", "negative", 10),
        tv("tvE1", "eve", "positive", 10),
        tv("tvE2", "eve", "negative", 10),
        tv("tvF1", "fay", "negative", 10_000),
        post("tvbot", D0526, ["korvo"], sentiment="positive", author="botty", bot=True),
    ]


# DST: Europe/Warsaw goes UTC+1 -> UTC+2 on 2026-03-29 and back on 2026-10-25. All mercato.
DST_POSTS = {
    # name: (UTC time, local day, ISO week, weekday, hour)
    "d1": ("2026-03-28T23:30", "2026-03-29", "2026-03-23", 7, 0),  # 00:30 CET
    "d2": ("2026-03-29T01:30", "2026-03-29", "2026-03-23", 7, 3),  # 03:30 CEST (02:xx does not exist)
    "d3": ("2026-03-29T22:30", "2026-03-30", "2026-03-30", 1, 0),  # 00:30 CEST, Monday
    "d4": ("2026-10-24T22:30", "2026-10-25", "2026-10-19", 7, 0),  # 00:30 CEST, Sunday
    "d5": ("2026-10-25T00:30", "2026-10-25", "2026-10-19", 7, 2),  # 02:30 CEST (first time)
    "d6": ("2026-10-25T01:30", "2026-10-25", "2026-10-19", 7, 2),  # 02:30 CET (second time)
    "d7": ("2026-10-25T23:30", "2026-10-26", "2026-10-26", 1, 0),  # 00:30 CET, Monday
}


def dst_posts() -> list[dict]:
    return [post(name, f"{utc}+00:00", ["mercato"]) for name, (utc, *_) in DST_POSTS.items()]


def voice_posts() -> list[dict]:
    """zesta's own account; scores: positive 0.8, neutral 0, negative -0.8."""
    rows = [
        ("zv1", "2026-06-02", "positive", "formal"),  # week 06-01: sentiment 0.4, formality 1
        ("zv2", "2026-06-03", "neutral", "formal"),
        ("zv3", "2026-06-09", "negative", "casual"),  # week 06-08: -0.8, -1
        ("zv4", "2026-06-23", "positive", "casual"),  # week 06-22: 0.8, 0 (06-15 has no posts)
        ("zv5", "2026-06-24", "positive", "formal"),
        ("zv6", "2026-07-28", "neutral", "neutral"),  # week 07-27: 0, 0 (06-01 is out of its window)
    ]
    return [
        post(n, f"{d}T10:00+02:00", [], sentiment=s, formality=f, brand_account="zesta")
        for n, d, s, f in rows
    ]


def main_posts() -> list[dict]:
    return (
        kpi_posts() + pain_posts() + motive_posts() + response_posts() + switching_posts()
        + top_voice_posts() + dst_posts() + voice_posts()
    )  # fmt: skip


@pytest.fixture(scope="module")
def main(tmp_path_factory) -> Built:
    project = new_project(tmp_path_factory, "main")
    write_enriched(project, main_posts())
    build_marts(project, full=True)
    marts = snapshot(project)
    build_marts(project, full=True, include_bots=True)
    return Built(project, marts, snapshot(project))


# --- the crowd layer: spikes and participation ---------------------------------------------------------

CROWD_START = dt.date(2026, 1, 7)  # a Wednesday: the first ISO week is partial; CET
SPIKE_DAY = 35


def crowd_day(i: int, minute: int = 0) -> str:
    day = CROWD_START + dt.timedelta(days=i)
    return f"{day.isoformat()}T12:{minute % 60:02d}+01:00"


def crowd_posts() -> list[dict]:
    rows = []
    for i in range(SPIKE_DAY + 2):  # days 0..36
        # korvo: 9, 10, 11, 9, ... a day (neutral); 40 on the spike day, five of them much liked.
        for j in range(40 if i == SPIKE_DAY else 9 + i % 3):
            spike = i == SPIKE_DAY
            pains = ["delays"] if j < 6 else ["outages_bugs"] if j < 9 else ["price_value"] if j == 9 else []
            rows.append(post(f"ko{i}_{j}", crowd_day(i, j), ["korvo"], author=f"ko{i}_{j}",
                             likes=100 + j if spike and j < 5 else 0, pains=pains if spike else []))  # fmt: skip
        # kvik: 10 a day, one negative; on the spike day 12 with 9 negative (the liked ones are not).
        for j in range(12 if i == SPIKE_DAY else 10):
            negative = j < 9 if i == SPIKE_DAY else j == 0
            rows.append(post(f"kv{i}_{j}", crowd_day(i, j), ["kvik"], author=f"kv{i}_{j}",
                             sentiment="negative" if negative else "neutral",
                             likes=j + 1 if negative else 50))  # fmt: skip
    # zesta on day 2 (2026-01-09): 120 authors, 158 posts; one more post without an author.
    counts = [10, 8] + [3] * 11 + [1] * 107
    for a, n in enumerate(counts):
        rows += [post(f"ze{a}_{k}", crowd_day(2, k), ["zesta"], author=f"z{a:03d}") for k in range(n)]
    rows.append(post("ze_anon", crowd_day(2), ["zesta"], author=None))
    return rows


@pytest.fixture(scope="module")
def crowd(tmp_path_factory) -> Built:
    project = new_project(tmp_path_factory, "crowd")
    write_enriched(project, crowd_posts())
    build_marts(project, full=True)
    return Built(project, snapshot(project))


# --- kpis ----------------------------------------------------------------------------------------------


def test_kpis_mentions_share_sentiment_and_zero_rows(main):
    kpis = main.df("mart_brand_kpis")
    day = {b: one(kpis, period="day", period_start="2026-03-02", brand_id=b) for b in BRANDS}
    # korvo k1 k2 k3 c1 c2 = 5 (ka1 is the brand's own, del1 deleted); kvik v1 c1; mercato c2. Total 8.
    assert [day[b]["mentions"] for b in BRANDS] == [5, 2, 1, 0]
    assert all(day[b]["total_mentions"] == 8 for b in BRANDS)
    assert [day[b]["share_of_voice"] for b in BRANDS] == pytest.approx([5 / 8, 2 / 8, 1 / 8, 0])
    assert sum(day[b]["share_of_voice"] for b in BRANDS) == pytest.approx(1)
    # korvo: positive k1 + c1 and c2 (their own opinion of korvo), neutral k3, negative k2.
    assert (day["korvo"]["positive"], day["korvo"]["neutral"], day["korvo"]["negative"]) == (3, 1, 1)
    assert close(day["korvo"]["net_sentiment"], 100 * (3 - 1) / 5)  # 40
    assert close(day["korvo"]["positive_share"], 0.6) and close(day["korvo"]["negative_share"], 0.2)
    # kvik: positive v1, negative c1 (its own opinion in the comparison) -> net 0.
    assert (day["kvik"]["positive"], day["kvik"]["negative"], day["kvik"]["net_sentiment"]) == (1, 1, 0)
    # mercato has no opinion of its own in c2: the post's negative sentiment counts.
    assert day["mercato"]["negative"] == 1 and close(day["mercato"]["net_sentiment"], -100)
    # zesta is silent: a zero row, share 0, net sentiment and shares unknown.
    zesta = day["zesta"]
    assert zesta["mentions"] == 0 and zesta["share_of_voice"] == 0
    assert is_null(zesta["net_sentiment"]) and is_null(zesta["negative_share"])

    # Week 2026-03-02: korvo 5 + 2 + 3 = 10 (pos 3+0+2, neg 1+2+1), kvik 2 + 1 + 1 = 4, mercato 1. Total 15.
    week = {b: one(kpis, period="week", period_start="2026-03-02", brand_id=b) for b in BRANDS}
    assert [week[b]["mentions"] for b in BRANDS] == [10, 4, 1, 0]
    assert [week[b]["share_of_voice"] for b in BRANDS] == pytest.approx([10 / 15, 4 / 15, 1 / 15, 0])
    assert close(week["korvo"]["net_sentiment"], 100 * (5 - 4) / 10)  # 10
    assert close(week["kvik"]["net_sentiment"], 100 * (1 - 2) / 4)  # -25
    # Every period and slice sums to 1.
    sums = kpis[kpis["total_mentions"] > 0].groupby(["period", "period_start", "source", "language"])
    assert sums["share_of_voice"].sum().to_numpy() == pytest.approx(1)


def test_kpis_previous_period(main):
    kpis = main.df("mart_brand_kpis")

    def row(period, start, brand="korvo"):
        return one(kpis, period=period, period_start=start, brand_id=brand)

    # Before the first day of data the previous period is unknown.
    for period in ("day", "week"):
        first = row(period, "2026-03-02")
        for column in ("mentions_prev", "share_of_voice_prev", "net_sentiment_prev", "mentions_change_pct"):
            assert is_null(first[column]), (period, column)
    # 2026-03-03 lies inside the data and is silent: 2026-03-04 compares with zero.
    d4 = row("day", "2026-03-04")
    assert d4["mentions_prev"] == 0 and d4["share_of_voice_prev"] == 0
    assert is_null(d4["mentions_change_pct"])  # no change in percent from zero
    assert is_null(d4["net_sentiment_prev"])  # no mentions, no net sentiment
    # 2026-03-05 against 2026-03-04: mentions 3 vs 2, share 3/4 vs 2/3, net 100/3 vs -100,
    # negative share 1/3 vs 2/2.
    d5 = row("day", "2026-03-05")
    assert d5["mentions_prev"] == 2 and close(d5["mentions_change_pct"], 50)
    assert close(d5["share_change_pts"], 100 * (3 / 4 - 2 / 3))  # 8.33 points
    assert close(d5["net_sentiment_prev"], -100) and close(d5["net_sentiment_change"], 100 / 3 + 100)
    assert close(d5["negative_share_change_pts"], 100 * (1 / 3 - 1))
    # z = (1/3 - 1) / sqrt(0.6 * 0.4 * (1/3 + 1/2)) = -1.4907 -> p = 0.1360
    assert close(d5["negative_change_p"], pooled_z_p(1, 3, 2, 2))
    assert close(d5["negative_change_p"], 0.13596, tol=1e-4)
    # Week 2026-03-09 against 2026-03-02: korvo 1 vs 10 (-90 %), share 1/2 vs 10/15, net 100 vs 10.
    w = row("week", "2026-03-09")
    assert w["mentions_prev"] == 10 and close(w["mentions_change_pct"], -90)
    assert close(w["share_of_voice_prev"], 10 / 15) and close(w["share_change_pts"], 100 * (1 / 2 - 10 / 15))
    assert close(w["net_sentiment_change"], 100 - 10)
    # mercato is silent in week 2026-03-09 (zero row) after 1 mention: -100 %, net sentiment unknown.
    m = row("week", "2026-03-09", "mercato")
    assert (m["mentions"], m["share_of_voice"], m["mentions_prev"]) == (0, 0, 1)
    assert close(m["mentions_change_pct"], -100) and is_null(m["net_sentiment"])
    assert close(m["net_sentiment_prev"], -100) and is_null(m["net_sentiment_change"])


def test_kpis_slices_and_volume(main):
    kpis = main.df("mart_brand_kpis")

    def mentions(source=ALL, language=ALL, brand="korvo"):
        return one(kpis, period="day", period_start="2026-03-02", brand_id=brand, source=source,
                   language=language)  # fmt: skip

    # korvo: mastodon k1 k2 c1, bluesky k3 c2; en k1 k3 c1 c2, pl k2.
    assert mentions()["mentions"] == 5
    assert [mentions(source=s)["mentions"] for s in ("mastodon", "bluesky")] == [3, 2]
    assert [mentions(language=lang)["mentions"] for lang in ("en", "pl")] == [4, 1]
    assert mentions("mastodon", "en")["mentions"] == 2
    # Shares within a slice: pl has only k2 (korvo 1 of 1); bluesky korvo 2 of 3 (mercato c2).
    assert mentions(language="pl")["share_of_voice"] == 1
    assert mentions(language="pl", brand="kvik")["share_of_voice"] == 0
    assert close(mentions(source="bluesky")["share_of_voice"], 2 / 3)
    assert mentions("mastodon", "en")["total_mentions"] == 4  # k1 c1 (korvo), v1 c1 (kvik)
    # mart_brand_volume holds the finest grain only, mentions > 0.
    volume = select(
        main.df("mart_brand_volume"), period="day", period_start="2026-03-02", source=None, language=None
    )
    got = {(r.brand_id, r.source, r.language): r.mentions for r in volume.itertuples()}
    assert got == {
        ("korvo", "mastodon", "en"): 2, ("korvo", "mastodon", "pl"): 1, ("korvo", "bluesky", "en"): 2,
        ("kvik", "mastodon", "en"): 2, ("mercato", "bluesky", "en"): 1,
    }  # fmt: skip


def test_bots_are_left_out_by_default(main):
    # 2026-05-26: korvo 12 audience mentions (ann 3, bob 2, cat 2, dan 2, eve 2, fay 1) plus one bot.
    default = one(main.df("mart_brand_kpis"), period="day", period_start="2026-05-26", brand_id="korvo")
    with_bots = one(main.df("mart_brand_kpis", bots=True), period="day", period_start="2026-05-26",
                    brand_id="korvo")  # fmt: skip
    assert (default["mentions"], with_bots["mentions"]) == (12, 13)
    assert (default["positive"], with_bots["positive"]) == (6, 7)
    assert '"include_bots": false' in default["evidence"] and '"include_bots": true' in with_bots["evidence"]
    assert len(evidence_ids(main.project, default)) == 12
    assert len(evidence_ids(main.project, with_bots)) == 13


# --- pain points ---------------------------------------------------------------------------------------


def test_pain_point_gap_and_significance(main):
    pains = main.df("mart_pain_points")
    r = one(pains, period="day", period_start="2026-04-07", brand_id="korvo", pain_point="delays")
    # korvo 20 of 40; competitors pooled: kvik 3/30 + mercato 2/30 + zesta 0/0 = 5/60.
    assert (r["posts"], r["mentions"], r["competitor_posts"], r["competitor_mentions"]) == (20, 40, 5, 60)
    assert close(r["rate_per_1000"], 500) and close(r["competitor_rate"], 1000 * 5 / 60)  # 83.33
    assert close(r["gap"], 500 - 1000 * 5 / 60)  # 416.67
    # pooled 25/100: z = (0.5 - 0.0833) / sqrt(0.25 * 0.75 * (1/40 + 1/60)) = 4.714 -> p = 2.4e-6
    p_korvo = pooled_z_p(20, 40, 5, 60)
    assert close(r["p_value"], p_korvo, tol=1e-9) and 2e-6 < p_korvo < 3e-6
    low, high = newcombe_per_1000(20, 40, 5, 60)
    assert close(r["gap_ci_low"], low) and close(r["gap_ci_high"], high)
    assert r["gap_ci_low"] < r["gap"] < r["gap_ci_high"] and r["gap_ci_low"] > 0
    # Benjamini-Hochberg over the day's family: only "delays" occurs that day (pain points no brand has
    # get no row and no test), and zesta has no mentions (no test): 3 p-values.
    others = [pooled_z_p(3, 30, 22, 70), pooled_z_p(2, 30, 23, 70)]  # kvik, mercato vs the rest
    ordered = sorted([p_korvo, *others])
    q = min(min(p * 3 / rank for rank, p in enumerate(ordered, start=1)), 1)  # q of rank 1
    assert select(pains, period="day", period_start="2026-04-07", pain_point="billing_refunds").empty
    assert close(r["q_value"], q, tol=1e-9) and r["significant"]
    assert r["posts_prev"] == 0 and is_null(r["rate_prev"])  # 2026-04-06: inside the data, silent
    # kvik's competitor average pools korvo and mercato: (20 + 2) / (40 + 30).
    kvik = one(pains, period="day", period_start="2026-04-07", brand_id="kvik", pain_point="delays")
    assert close(kvik["competitor_rate"], 1000 * 22 / 70)
    zesta = one(pains, period="day", period_start="2026-04-07", brand_id="zesta", pain_point="delays")
    assert zesta["mentions"] == 0 and is_null(zesta["p_value"]) and not zesta["significant"]
    assert evidence_ids(main.project, r) == ids(*(f"pk{i}" for i in range(20)))


def test_pain_point_tiny_sample_is_not_significant(main):
    r = one(main.df("mart_pain_points"), period="day", period_start="2026-04-14", brand_id="korvo",
            pain_point="lost_items")  # fmt: skip
    # 1 of 2 against 0 of 2: a 500-point gap, but z = 0.5 / sqrt(0.25 * 0.75 * 1) = 1.155, p = 0.248.
    assert close(r["gap"], 500) and close(r["p_value"], pooled_z_p(1, 2, 0, 2))
    assert close(r["p_value"], 0.2482, tol=1e-3)
    assert not r["significant"] and r["gap_ci_low"] < 0 < r["gap_ci_high"]


def test_pain_point_gaps_pairwise(main):
    gaps = main.df("mart_pain_point_gaps")
    week = select(gaps, period_start="2026-04-06", pain_point="delays")
    assert len(week) == 4 * 3  # every ordered pair of brands
    r = one(week, brand_id="korvo", competitor_id="kvik")
    # 20/40 vs 3/30: gap 500 - 100 = 400.
    assert (r["posts"], r["mentions"], r["competitor_posts"], r["competitor_mentions"]) == (20, 40, 3, 30)
    assert close(r["gap"], 400) and close(r["p_value"], pooled_z_p(20, 40, 3, 30), tol=1e-9)
    low, high = newcombe_per_1000(20, 40, 3, 30)
    assert close(r["gap_ci_low"], low) and close(r["gap_ci_high"], high) and r["significant"]
    back = one(week, brand_id="kvik", competitor_id="korvo")
    assert close(back["gap"], -400) and close(back["p_value"], r["p_value"])
    none = one(week, brand_id="korvo", competitor_id="zesta")  # zesta has no mentions: no test
    assert is_null(none["competitor_rate"]) and is_null(none["p_value"]) and not none["significant"]


# --- motives, tone, brand voice ------------------------------------------------------------------------


def test_motives_mix_and_gap(main):
    motives = select(main.df("mart_motives"), period="week", period_start="2026-04-20")
    korvo = select(motives, brand_id="korvo").set_index("motive")
    # korvo's 4 mentions carry 4 motive labels: discounts 2, purchases 1, community 1.
    assert korvo["mix"][["discounts", "purchases", "community"]].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert korvo["mix"].sum() == pytest.approx(1) and "events" not in korvo.index  # no brand: no row
    d = korvo.loc["discounts"]
    assert (d["posts"], d["mentions"], d["competitor_posts"], d["competitor_mentions"]) == (2, 4, 1, 2)
    assert close(d["rate_per_1000"], 500) and close(d["competitor_rate"], 500) and close(d["gap"], 0)
    assert select(motives, brand_id="mercato")["mix"].isna().all()  # no motive found
    # What korvo's own posts offer: discounts 2, new_products 1, events 1 (of 4 labels).
    gap = select(main.df("mart_motive_gap"), period="week", period_start="2026-04-20", brand_id="korvo")
    gap = gap.set_index("motive")
    expected = {  # (audience_mix, brand_mix, gap_pts)
        "discounts": (0.5, 0.5, 0), "purchases": (0.25, 0, -25), "community": (0.25, 0, -25),
        "new_products": (0, 0.25, 25), "events": (0, 0.25, 25),
    }  # fmt: skip
    assert "general_info" not in gap.index  # neither side has it: no row
    for motive, values in expected.items():
        got = gap.loc[motive, ["audience_mix", "brand_mix", "gap_pts"]].tolist()
        assert got == pytest.approx(values), motive
    assert gap.loc["discounts", "brand_posts"] == 2 and gap.loc["discounts", "audience_posts"] == 2
    kvik = one(main.df("mart_motive_gap"), period="week", period_start="2026-04-20", brand_id="kvik",
               motive="discounts")  # fmt: skip
    assert kvik["audience_mix"] == 1 and is_null(kvik["brand_mix"]) and is_null(kvik["gap_pts"])


def test_audience_tone_shares(main):
    tone = select(main.df("mart_audience_tone"), period="week", period_start="2026-04-20", brand_id="korvo")
    share = {(r.dimension, r.label): (r.posts, r.share) for r in tone.itertuples()}
    # korvo's 4 mentions: joy joy anger none; casual casual formal neutral.
    assert share[("emotion", "joy")] == (2, 0.5) and share[("emotion", "anger")] == (1, 0.25)
    assert share[("emotion", "none")] == (1, 0.25) and ("emotion", "gratitude") not in share  # nobody
    assert share[("formality", "casual")] == (2, 0.5) and share[("formality", "formal")] == (1, 0.25)
    assert all(r.mentions == 4 for r in tone.itertuples())
    for dimension in ("emotion", "formality"):
        assert sum(s for (d, _), (_, s) in share.items() if d == dimension) == pytest.approx(1)
    joy = one(tone, dimension="emotion", label="joy")
    assert evidence_ids(main.project, joy) == ids("mo1", "mo2")


def test_brand_voice_weekly_means_and_variation(main):
    voice = select(main.df("mart_brand_voice"), brand_id="zesta").set_index("period_start")
    weeks = [dt.date(2026, 6, 1), dt.date(2026, 6, 8), dt.date(2026, 6, 22), dt.date(2026, 7, 27)]
    assert sorted(voice.index) == weeks
    got = voice.loc[weeks, ["posts", "mean_sentiment", "mean_formality", "formal_share", "casual_share"]]
    assert got.to_numpy().ravel().tolist() == pytest.approx([
        2, 0.4, 1, 1, 0,  1, -0.8, -1, 0, 1,  2, 0.8, 0, 0.5, 0.5,  1, 0, 0, 0, 0,
    ])  # fmt: skip
    # Window = this week and the 7 before, weeks with posts only (population std dev).
    # 06-01: itself -> 0. 06-22: 06-01, 06-08, 06-22: sentiment [0.4, -0.8, 0.8] -> sqrt(0.46222) = 0.6799,
    # formality [1, -1, 0] -> sqrt(2/3). 07-27: 06-08, 06-22, 07-27 (06-01 is 8 weeks back):
    # sentiment [-0.8, 0.8, 0] -> sqrt(0.42667) = 0.6532, formality [-1, 0, 0] -> sqrt(2/9).
    sd = statistics.pstdev
    expected = {
        weeks[0]: (1, 0, 0),
        weeks[2]: (3, sd([0.4, -0.8, 0.8]), sd([1, -1, 0])),
        weeks[3]: (3, sd([-0.8, 0.8, 0]), sd([-1, 0, 0])),
    }
    assert expected[weeks[2]][1] == pytest.approx(0.67987, abs=1e-5)
    for week, values in expected.items():
        row = voice.loc[week, ["weeks_in_window", "sentiment_variation", "formality_variation"]]
        assert row.tolist() == pytest.approx(values, abs=1e-6), week


# --- intents and switching -----------------------------------------------------------------------------


def test_intent_rates(main):
    intents = select(main.df("mart_intents"), period="week", period_start="2026-05-04", brand_id="korvo")
    got = {r.intent: (r.posts, r.mentions, r.rate_per_1000, r.posts_prev) for r in intents.itertuples()}
    # korvo's 7 mentions: q1 q2 q4 questions, q3 q4 q5 q6 complaints, n1 praise; the week before is silent.
    assert got["question"] == pytest.approx((3, 7, 3000 / 7, 0))
    assert got["complaint"] == pytest.approx((4, 7, 4000 / 7, 0))
    assert got["praise"] == pytest.approx((1, 7, 1000 / 7, 0))
    assert "churn_intent" not in got  # no brand had it that week or the one before: no row
    kvik = one(main.df("mart_intents"), period="week", period_start="2026-05-04", brand_id="kvik",
               intent="question")  # fmt: skip
    assert kvik["rate_per_1000"] == 1000
    complaint = one(intents, intent="complaint")
    assert evidence_ids(main.project, complaint) == ids("q3", "q4", "q5", "q6")


def test_switching_flows(main):
    flows = select(main.df("mart_switching"), period="week", period_start="2026-05-11")
    got = {(r.from_brand, r.to_brand): r.posts for r in flows.itertuples()}
    assert got == {
        ("korvo", "kvik"): 2,  # s1, s9 (s7 is a brand account)
        ("korvo", "unknown"): 1,  # s2
        ("unknown", "mercato"): 1,  # s3
        ("kvik", "korvo"): 1,  # s5
        ("mercato", "korvo"): 1,  # s5
    }  # s4 (unknown -> unknown) and s6 (korvo -> korvo) are left out
    pl = one(main.df("mart_switching"), period="week", period_start="2026-05-11", language="pl",
             from_brand="korvo", to_brand="kvik")  # fmt: skip
    assert pl["posts"] == 1
    assert evidence_ids(main.project, one(flows, from_brand="korvo", to_brand="kvik")) == ids("s1", "s9")
    assert evidence_ids(main.project, one(flows, from_brand="korvo", to_brand="unknown")) == ids("s2")


# --- responsiveness and cadence ------------------------------------------------------------------------


def test_responsiveness(main):
    resp = main.df("mart_responsiveness")
    korvo = one(resp, period="week", period_start="2026-05-04", brand_id="korvo")
    # Eligible q1..q6 (questions q1 q2 q4, complaints q3 q5 q6); answered q1 30, q2 120 (reply to a
    # follow-up two levels down), q4 0 (reply before the question), q6 600. Not q3 (14 days + 1 minute)
    # nor q5 (kvik replied).
    assert (korvo["eligible"], korvo["questions"], korvo["complaints"], korvo["answered"]) == (6, 3, 3, 4)
    assert close(korvo["response_rate"], 4 / 6)
    # [0, 30, 120, 600]: median (30 + 120) / 2 = 75; p90 at position 0.9 * 3 = 2.7: 120 + 0.7 * 480 = 456.
    assert close(korvo["median_response_minutes"], 75) and close(korvo["p90_response_minutes"], 456)
    day = one(resp, period="day", period_start="2026-05-05", brand_id="korvo")
    assert (day["eligible"], day["answered"]) == (6, 4)
    kvik = one(resp, period="week", period_start="2026-05-04", brand_id="kvik")
    assert (kvik["eligible"], kvik["answered"], kvik["median_response_minutes"]) == (1, 1, 60)
    zesta = one(resp, period="week", period_start="2026-05-04", brand_id="zesta")
    assert zesta["eligible"] == 0 and is_null(zesta["response_rate"])
    assert evidence_ids(main.project, korvo) == ids("q1", "q2", "q3", "q4", "q5", "q6")

    unanswered = main.df("mart_unanswered")
    got = {(r.brand_id, r.post_id, r.kind, r.period_start) for r in unanswered.itertuples()}
    may5 = dt.date(2026, 5, 5)
    assert got == {("korvo", pid("q3"), "complaint", may5), ("korvo", pid("q5"), "complaint", may5)}
    assert set(unanswered["text"]) == {"text of q3", "text of q5"}


def test_cadence(main):
    cadence = main.df("mart_cadence")

    def counts(period, start, brand="korvo"):
        r = one(cadence, period=period, period_start=start, brand_id=brand)
        return r["posts"], r["original_posts"], r["replies"]

    assert counts("week", "2026-05-04") == (5, 1, 4)  # r1 r2 r4 r6 + o1
    assert counts("day", "2026-05-05") == (3, 0, 3)  # r1 r2 r4
    assert counts("day", "2026-05-06") == (2, 1, 1)  # r6 (01:00) + o1
    assert counts("week", "2026-05-04", "kvik") == (2, 0, 2)  # r5 r7
    assert counts("week", "2026-05-18") == (1, 0, 1)  # the late reply r3
    assert counts("week", "2026-04-20") == (4, 4, 0)  # mb1..mb4
    week = one(cadence, period="week", period_start="2026-05-04", brand_id="korvo")
    assert evidence_ids(main.project, week) == ids("r1", "r2", "r4", "r6", "o1")


# --- time zone, activity, top voices -------------------------------------------------------------------


def test_local_days_weeks_and_hours_across_dst(main):
    kpis = select(main.df("mart_brand_kpis"), brand_id="mercato")
    for period, index in (("day", 1), ("week", 2)):
        expected: dict[dt.date, int] = {}
        for values in DST_POSTS.values():
            start = dt.date.fromisoformat(values[index])
            expected[start] = expected.get(start, 0) + 1
        rows = kpis[(kpis["period"] == period) & kpis["period_start"].isin(expected)]
        assert dict(zip(rows["period_start"], rows["mentions"], strict=True)) == expected, period
    # 2026-10-24 (local) has no posts at all: d4 is 22:30 UTC, already 00:30 on the 25th in Warsaw.
    assert select(main.df("mart_brand_kpis"), period="day", period_start="2026-10-24").empty
    activity = select(main.df("mart_audience_activity"), brand_id="mercato")
    dst_weeks = {week for _, _, week, _, _ in DST_POSTS.values()}
    got = {
        (r.period_start.isoformat(), r.weekday, r.hour): r.posts
        for r in activity.itertuples()
        if r.period_start.isoformat() in dst_weeks
    }
    expected: dict[tuple, int] = {}
    for _, _, week, weekday, hour in DST_POSTS.values():
        expected[(week, weekday, hour)] = expected.get((week, weekday, hour), 0) + 1
    # (2026-10-19, Sunday, 02h): d5 and d6, the same wall-clock hour twice.
    assert got == expected and got[("2026-10-19", 7, 2)] == 2
    row = one(activity, period_start="2026-10-19", weekday=7, hour=2)
    assert evidence_ids(main.project, row) == ids("d5", "d6")


def test_top_voices(main):
    voices = select(main.df("mart_top_voices"), period="week", period_start="2026-05-25", brand_id="korvo")
    ranking = {(r.role, r.rank): r.author_id for r in voices.itertuples()}
    # Advocates: ann 3 posts (2 pos, 1 neg); bob and cat 2 each, bob has the larger reach.
    # Critics: dan 2 negative; fay 1 negative (a large reach does not beat more mentions). eve is even.
    assert ranking == {
        ("advocate", 1): aid("ann"), ("advocate", 2): aid("bob"), ("advocate", 3): aid("cat"),
        ("critic", 1): aid("dan"), ("critic", 2): aid("fay"),
    }  # fmt: skip
    ann = one(voices, role="advocate", rank=1)
    assert ann[["posts", "positive", "negative", "reach", "engagement"]].tolist() == [3, 2, 1, 150, 6]
    assert list(ann["post_ids"]) == [pid("tvA1"), pid("tvA2"), pid("tvA3")]
    assert evidence_ids(main.project, ann) == ids("tvA1", "tvA2", "tvA3")
    with_bots = select(main.df("mart_top_voices", bots=True), period="week", period_start="2026-05-25",
                       brand_id="korvo", role="advocate")  # fmt: skip
    assert aid("botty") in set(with_bots["author_id"])


def test_evidence_returns_the_posts_counted(main):
    kpis = main.df("mart_brand_kpis")
    row = one(kpis, period="day", period_start="2026-03-02", brand_id="korvo")
    assert evidence_ids(main.project, row) == ids("k1", "k2", "k3", "c1", "c2")
    row = one(kpis, period="day", period_start="2026-03-02", brand_id="korvo", language="pl")
    assert evidence_ids(main.project, row) == ids("k2")
    row = one(kpis, period="week", period_start="2026-03-02", brand_id="kvik", source="mastodon")
    assert evidence_ids(main.project, row) == ids("v1", "c1", "v2", "v3")
    unanswered = main.df("mart_unanswered")
    assert evidence_ids(main.project, unanswered.iloc[0]) == [unanswered.iloc[0]["post_id"]]


# --- crowd: participation and spikes -------------------------------------------------------------------


def test_participation_1_9_90(crowd):
    part = crowd.df("mart_participation")
    z = one(part, period="day", period_start="2026-01-09", brand_id="zesta")
    # 120 authors (the anonymous post is left out): top 1% = ceil(1.2) = 2 authors (10 + 8 posts);
    # next 9% up to ceil(12) = 12 authors: 10 of the 11 with 3 posts; the rest 108: one with 3, 107 with 1.
    assert (z["authors"], z["posts"]) == (120, 158)
    assert (z["top1_authors"], z["next9_authors"], z["rest90_authors"]) == (2, 10, 108)
    shares = [z["top1_share"], z["next9_share"], z["rest90_share"]]
    assert shares == pytest.approx([18 / 158, 30 / 158, 110 / 158]) and sum(shares) == pytest.approx(1)
    kpis = crowd.df("mart_brand_kpis")
    assert one(kpis, period="day", period_start="2026-01-09", brand_id="zesta")["mentions"] == 159
    assert len(evidence_ids(crowd.project, z)) == 158  # the posts counted: not the anonymous one
    # 9 authors with one post each: top 1% = ceil(0.09) = 1, next 9% up to ceil(0.9) = 1 -> none.
    k = one(part, period="day", period_start="2026-01-07", brand_id="korvo")
    assert (k["authors"], k["top1_authors"], k["next9_authors"], k["rest90_authors"]) == (9, 1, 0, 8)
    assert [k["top1_share"], k["next9_share"], k["rest90_share"]] == pytest.approx([1 / 9, 0, 8 / 9])


def test_previous_week_of_a_partial_first_week(crowd):
    kpis = crowd.df("mart_brand_kpis")
    # The data starts on Wednesday 2026-01-07: the week of 2026-01-05 holds days 0..4 (korvo 9 + 10 + 11
    # + 9 + 10 = 49) and has no previous week; the week of 2026-01-12 (days 5..11: 11 + 9 + 10 + 11 + 9
    # + 10 + 11 = 71) compares with it, as it lies inside the data.
    first = one(kpis, period="week", period_start="2026-01-05", brand_id="korvo")
    assert first["mentions"] == 49 and is_null(first["mentions_prev"])
    second = one(kpis, period="week", period_start="2026-01-12", brand_id="korvo")
    assert (second["mentions"], second["mentions_prev"]) == (71, 49)
    assert close(second["mentions_change_pct"], 100 * (71 - 49) / 49)
    assert is_null(one(kpis, period="day", period_start="2026-01-07", brand_id="korvo")["mentions_prev"])
    assert one(kpis, period="day", period_start="2026-01-08", brand_id="korvo")["mentions_prev"] == 9


def test_spikes(crowd):
    spikes = select(crowd.df("mart_spikes"), source=ALL, language=ALL)
    spike_day = CROWD_START + dt.timedelta(days=SPIKE_DAY)
    got = {(r.brand_id, r.metric, r.period_start) for r in spikes.itertuples()}
    # Only the planted ones: the steady days (9/10/11 a day, one negative in ten) score below 1.
    assert got == {("korvo", "volume", spike_day), ("kvik", "negative_share", spike_day)}
    volume = one(spikes, brand_id="korvo", metric="volume")
    # Baseline = days 7..34: nine 9s, ten 10s, nine 11s -> median 10, MAD 1; scale
    # max(1.4826 * 1, sqrt(10)) = 3.1623; score (40 - 10) / 3.1623 = 9.487.
    assert (volume["value"], volume["baseline"], volume["mentions"]) == (40, 10, 40)
    assert close(volume["score"], 30 / math.sqrt(10))
    assert list(volume["driver_post_ids"]) == [pid(f"ko{SPIKE_DAY}_{j}") for j in (4, 3, 2, 1, 0)]
    assert list(volume["top_pain_points"]) == ["delays", "outages_bugs", "price_value"]
    assert len(evidence_ids(crowd.project, volume)) == 40
    share = one(spikes, brand_id="kvik", metric="negative_share")
    # p0 = 28 / 280 = 0.1; z = (9 - 12 * 0.1) / sqrt(12 * 0.1 * 0.9) = 7.8 / 1.0392 = 7.506.
    assert close(share["value"], 9 / 12) and close(share["baseline"], 0.1)
    assert close(share["score"], 7.8 / math.sqrt(1.08)) and share["mentions"] == 12
    # The drivers are the most engaged negative mentions (the neutral ones have more likes).
    assert list(share["driver_post_ids"]) == [pid(f"kv{SPIKE_DAY}_{j}") for j in (8, 7, 6, 5, 4)]


# --- incremental builds --------------------------------------------------------------------------------

INC_START = dt.date(2026, 2, 2)
INC_DAYS = 70  # crosses the DST switch of 2026-03-29


def random_layer(rng: random.Random, days: range, tag: str) -> list[dict]:
    """A random but plausible layer: every label, slices, comparisons, bots, replies, chains."""
    rows: list[dict] = []
    for d in days:
        day = INC_START + dt.timedelta(days=d)
        for j in range(rng.randint(4, 12) + (25 if d == 50 else 0)):
            name = f"{tag}{d}_{j}"
            at = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), dt.UTC)
            brands = rng.sample(BRANDS, rng.choice([1, 1, 1, 2]))
            if d == 50 and j >= 10:
                brands = ["kvik"]
            sentiment = rng.choice(["positive", "neutral", "negative"])
            intents = rng.sample(
                ["question", "complaint", "praise", "suggestion", "churn_intent"], rng.randint(0, 2)
            )
            churn = "churn_intent" in intents
            rows.append(post(
                name, at.isoformat(), brands, sentiment=sentiment, intents=intents,
                pains=rng.sample(["delays", "outages_bugs", "price_value"], rng.randint(0, 2)),
                motives=rng.sample(["discounts", "purchases", "community"], rng.randint(0, 2)),
                author=f"u{rng.randrange(25)}", source=rng.choice(["mastodon", "bluesky"]),
                language=rng.choice(["en", "pl"]), emotion=rng.choice(["joy", "anger", "none"]),
                formality=rng.choice(["casual", "neutral", "formal"]), bot=rng.random() < 0.05,
                switch_from=brands[:1] if churn else [], switch_to=brands[1:] if churn else [],
                brand_sentiments=[bs(b, rng.choice(["positive", "negative"])) for b in brands]
                if len(brands) > 1 else None,
                followers=rng.randrange(1000), likes=rng.randrange(20),
            ))  # fmt: skip
            if {"question", "complaint"} & set(intents) and rng.random() < 0.7:
                delay = rng.choice([-20, 5, 90, 1440, 10 * 1440, 16 * 1440])
                rows.append(post(f"{name}_r", (at + dt.timedelta(minutes=delay)).isoformat(), brands[:1],
                                 brand_account=brands[0], reply_to=name, formality="formal",
                                 sentiment=rng.choice(["positive", "neutral"])))  # fmt: skip
        brand = rng.choice(BRANDS)
        rows.append(post(f"{tag}{d}_own", f"{day.isoformat()}T09:00+00:00", [brand], brand_account=brand,
                         motives=[rng.choice(["discounts", "community"])]))  # fmt: skip
    return rows


def alter(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The layer after a change, and the rows of the partitions that change: day 35 rewritten (one post
    gone, sentiments flipped, a brand reply to a question of day 30) and a new last day whose brand replies
    answer questions of days 60..69 (its own random replies may land on later days)."""
    changed_day = INC_START + dt.timedelta(days=35)
    flip = {"positive": "negative", "negative": "positive", "neutral": "neutral"}
    final = []
    for row in rows:
        if row["created_at"].date() == changed_day:
            if row["native_id"].endswith("_0"):
                continue
            row = {**row, "sentiment_label": flip[row["sentiment_label"]]}
        final.append(row)
    questions = [r for r in rows if r["intents"] and "question" in r["intents"] and not r["is_brand_account"]
                 and r["brands"]]  # fmt: skip
    day30 = INC_START + dt.timedelta(days=30)
    q30 = max((r for r in questions if r["created_at"].date() <= day30), key=lambda r: r["created_at"])
    added = [post("late30", f"{changed_day.isoformat()}T08:00+00:00", q30["brands"][:1],
                  brand_account=q30["brands"][0], reply_to=q30["native_id"])]  # fmt: skip
    added += random_layer(random.Random(7), range(INC_DAYS, INC_DAYS + 1), "new")
    last = INC_START + dt.timedelta(days=INC_DAYS)
    for q in [q for q in questions if q["created_at"].date() >= last - dt.timedelta(days=10)][:3]:
        added.append(post(f"{q['native_id']}_late", f"{last.isoformat()}T20:00+00:00", q["brands"][:1],
                          brand_account=q["brands"][0], reply_to=q["native_id"]))  # fmt: skip
    days = {changed_day} | {r["created_at"].date() for r in added}  # the UTC partitions to rewrite
    return final + added, [r for r in final + added if r["created_at"].date() in days]


def test_incremental_build_equals_full_rebuild(tmp_path_factory):
    base = random_layer(random.Random(42), range(INC_DAYS), "p")
    final, changed = alter(base)
    incremental = new_project(tmp_path_factory, "incremental")
    write_enriched(incremental, base)
    assert build_marts(incremental)["mode"] == "full"  # first build
    write_enriched(incremental, changed)
    summary = build_marts(incremental)
    assert summary["mode"].startswith("incremental")
    lo = dt.date.fromisoformat(summary["mode"].split()[1].split("..")[0])
    assert lo > INC_START + dt.timedelta(days=7)  # really partial: the first weeks were kept
    assert build_marts(incremental)["mode"] == "up to date"

    fresh = new_project(tmp_path_factory, "fresh")
    write_enriched(fresh, final)
    build_marts(fresh, full=True)
    a, b = snapshot(incremental), snapshot(fresh)
    for name, contract in MARTS.items():
        keys = [(k, "ascending") for k in contract.key]
        left, right = a[name].sort_by(keys), b[name].sort_by(keys)
        assert left.num_rows > 0, name  # every mart has something to compare (the day-50 spike included)
        assert left.equals(right), name


# --- the validation gate -------------------------------------------------------------------------------


def test_validation_gate_rejects_broken_kpis(main):
    settings = Settings.of(main.project)
    kpis = main.marts["mart_brand_kpis"]
    _validate("mart_brand_kpis", kpis, settings)  # the real mart passes
    df = kpis.to_pandas()
    target = (
        (df["period"] == "day") & (df["period_start"] == dt.date(2026, 3, 2)) & (df["brand_id"] == "korvo")
    )
    df.loc[target & (df["source"] == ALL) & (df["language"] == ALL), "share_of_voice"] = 0.3  # was 0.625
    tampered = pa.Table.from_pandas(df, schema=kpis.schema, preserve_index=False)
    with pytest.raises(ValidationFailed, match="share of voice"):
        _validate("mart_brand_kpis", tampered, settings)
    # zesta never has a mention here, so dropping it keeps every sum at 1: only the brand check fails.
    without_zesta = kpis.filter(pc.not_equal(kpis.column("brand_id"), "zesta"))
    with pytest.raises(ValidationFailed, match="distinct_values_to_equal_set"):
        _validate("mart_brand_kpis", without_zesta, settings)

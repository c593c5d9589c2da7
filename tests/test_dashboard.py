"""The Streamlit dashboard (AppTest, headless): every page renders on the demo data, reacts to the filters
and shows the numbers the marts hold; post text stays text; downloads are safe; sign-in works."""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboards" / "app.py")
# The demo's planted week: Kvik's delivery delays (docs/demo-data.md).
W40 = {"from": "2026-09-28", "to": "2026-10-04"}
PAGES = {
    "views/overview.py": ("Overview", 2, 0),
    "views/pain_points.py": ("Pain points", 3, 0),
    "views/motives.py": ("Motives", 3, 0),
    "views/tone.py": ("Tone and intents", 3, 1),
    "views/engagement.py": ("Engagement", 5, 0),
    "views/alerts.py": ("Alerts", 1, 0),
    "views/explorer.py": ("Post explorer", 0, 0),
    "views/digest.py": ("Weekly digest", 0, 0),
}


@pytest.fixture
def demo_env(built_demo, monkeypatch):
    project, _ = built_demo
    monkeypatch.setenv("LISTENING_CONFIG", str(project.config_path))
    monkeypatch.delenv("LISTENING_DASHBOARD_AUTH", raising=False)
    return project


def open_app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def mart(project, name: str, where: str) -> pd.DataFrame:
    path = project.storage.mart_path(name)
    return duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}') WHERE {where}").df()


def metric_values(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_its_charts(demo_env, page):
    at = goto(open_app(W40), page)
    title, min_charts, plotly = PAGES[page]
    assert title in [t.value for t in at.title]
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) >= min_charts
    assert len(at.get("plotly_chart")) >= plotly
    assert at.query_params["from"] in ("2026-09-28", ["2026-09-28"])


def test_overview_cards_show_the_week_rows_of_the_marts(demo_env):
    at = open_app(W40)
    week = mart(
        demo_env,
        "mart_brand_kpis",
        "period = 'week' AND period_start = DATE '2026-09-28' AND source = '*' AND language = '*'",
    )
    resp = mart(
        demo_env,
        "mart_responsiveness",
        "period = 'week' AND period_start = DATE '2026-09-28' AND source = '*' AND language = '*'",
    )
    metrics = metric_values(at)
    mentions = [v for label, v in metrics if label == "Mentions"]
    shares = [v for label, v in metrics if label == "Share"]
    nets = [v for label, v in metrics if label == "Sentiment"]
    rates = [v for label, v in metrics if label == "Answered"]
    order = [b.id for b in demo_env.config.brands]
    expected = week.set_index("brand_id").loc[order]
    assert mentions == [f"{n:,}" for n in expected["mentions"]]
    assert shares == [f"{s:.1%}" for s in expected["share_of_voice"]]
    assert nets == [f"{s:+.1f}" for s in expected["net_sentiment"]]
    expected_rates = resp.set_index("brand_id")["response_rate"].reindex(order)
    assert rates == ["–" if pd.isna(r) else f"{r:.0%}" for r in expected_rates]
    # The week's movements name Kvik's delivery delays with the mart's numbers.
    pains = mart(
        demo_env,
        "mart_pain_points",
        "period = 'week' AND period_start = DATE '2026-09-28' AND source = '*' AND language = '*' AND brand_id = 'kvik' AND pain_point = 'delays'",
    ).iloc[0]
    text = " ".join(m.value for m in at.markdown)
    assert f"**Kvik**: Delays at {pains['rate_per_1000']:.0f} per 1,000 mentions" in text
    assert f"q = {pains['q_value']:.2g}" in text


def test_pain_point_comparison_matches_the_mart_for_one_week(demo_env):
    from dashboards import data, ui

    config = demo_env.config
    options = data.filter_options()
    filters = data.Filters(
        dt.date(2026, 9, 28), dt.date(2026, 10, 4), tuple(b.id for b in config.brands),
        tuple(options["sources"]), tuple(options["languages"]),
    )  # fmt: skip
    frame, note = data.category_comparison(filters, "pain_point", ui.category_ids("pain_point"))
    assert note is None
    built = mart(
        demo_env,
        "mart_pain_points",
        "period = 'week' AND period_start = DATE '2026-09-28' AND source = '*' AND language = '*'",
    )
    both = built.merge(
        frame, left_on=["brand_id", "pain_point"], right_on=["brand_id", "category"], suffixes=("", "_dash")
    )
    assert len(both) == len(built) > 0
    for column in ("posts", "mentions", "competitor_posts", "competitor_mentions"):
        assert (both[column] == both[f"{column}_dash"]).all(), column
    for column in ("rate_per_1000", "gap", "gap_ci_low", "gap_ci_high", "p_value", "q_value"):
        # the marts store floats rounded to 9 decimals
        dash = both[f"{column}_dash"].to_numpy()
        assert both[column].to_numpy() == pytest.approx(dash, abs=1e-8, nan_ok=True), column
    assert (both["significant"] == both["significant_dash"]).all()
    kvik = frame.set_index(["brand_id", "category"]).loc[("kvik", "delays")]
    assert kvik["significant"] and kvik["gap"] > 100


def test_filters_change_the_view_and_the_url(demo_env):
    at = open_app(W40)
    every = [v for label, v in metric_values(at) if label == "Mentions"]
    at.sidebar.multiselect[0].set_value(["korvo", "kvik"]).run()
    assert not at.exception
    assert at.query_params["brands"] in ("korvo,kvik", ["korvo,kvik"])
    two = [v for label, v in metric_values(at) if label == "Mentions"]
    assert two == every[:2]
    at.sidebar.multiselect[2].set_value(["pl"]).run()
    polish = [int(v.replace(",", "")) for label, v in metric_values(at) if label == "Mentions"]
    week = mart(
        demo_env,
        "mart_brand_kpis",
        "period = 'week' AND period_start = DATE '2026-09-28' AND source = '*' AND language = 'pl' AND brand_id IN ('korvo', 'kvik')",
    )
    assert polish == week.set_index("brand_id").loc[["korvo", "kvik"], "mentions"].tolist()
    assert sum(polish) < sum(int(v.replace(",", "")) for v in two)


def test_a_shared_link_restores_the_view(demo_env):
    at = open_app({**W40, "brands": "mercato", "languages": "de,fr"})
    assert at.sidebar.multiselect[0].value == ["mercato"]
    assert sorted(at.sidebar.multiselect[2].value) == ["de", "fr"]
    assert at.sidebar.date_input[0].value == (dt.date(2026, 9, 28), dt.date(2026, 10, 4))


def test_explorer_searches_text_and_shows_evidence(demo_env):
    at = goto(open_app(W40), "views/explorer.py")
    at.text_input(key="ex-text").set_value("Kvik").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) > 0 and shown["text"].str.contains("kvik", case=False).all()
    assert any("<mark" in m.value for m in at.markdown)


def test_digest_page_previews_and_shows_the_archived_copy(demo_env):
    from pipelines.digest import build_digest

    at = goto(open_app(W40), "views/digest.py")
    assert any("No digest was built for 2026-W40" in i.value for i in at.info)
    at.toggle(key="digest-preview").set_value(True).run()
    assert not at.exception
    assert len(at.get("download_button")) == 3 and len(at.get("iframe")) == 1
    assert any("Preview built from the current marts" in c.value for c in at.caption)

    build_digest(demo_env, "2026-W41", deliver=False)
    at = goto(open_app({"from": "2026-10-05", "to": "2026-10-11"}), "views/digest.py")
    assert at.selectbox(key="digest-week").value == "2026-W41"
    assert any("archived digest for 2026-W41" in c.value for c in at.caption)
    archived = demo_env.storage.read_bytes(demo_env.storage.path("digests", "2026-W41", "digest.html"))
    assert at.get("iframe")[0].proto.srcdoc == archived.decode("utf-8")


def test_empty_state_without_marts(project_factory, monkeypatch):
    project = project_factory("empty")
    monkeypatch.setenv("LISTENING_CONFIG", str(project.config_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No marts yet" in i.value for i in at.info)


def test_password_sign_in(demo_env, monkeypatch):
    monkeypatch.setenv("LISTENING_DASHBOARD_AUTH", "password")
    monkeypatch.setenv("LISTENING_DASHBOARD_PASSWORD", "correct horse")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"] and not at.metric
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error) and not at.metric
    at.text_input[0].set_value("correct horse")
    at.button[0].click().run()
    assert not at.exception and "Overview" in [t.value for t in at.title] and at.metric


# -- the helpers behind safe rendering and downloads ----------------------------------------------------------
def test_post_text_is_escaped_and_only_our_marks_are_html():
    from dashboards.ui import highlighted

    text = 'Kvik <script>alert(1)</script> <img src=x onerror="alert(2)"> late again'
    out = highlighted(text, [(0, 4, "brand: kvik"), (text.index("late"), len(text), 'pain"><b>x')])
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in out
    assert out.startswith('<mark title="brand: kvik">Kvik</mark>')
    assert 'title="pain&quot;&gt;&lt;b&gt;x"' in out


def test_links_are_only_http():
    from dashboards.ui import safe_url

    assert safe_url("https://mastodon.social/@a/1") == "https://mastodon.social/@a/1"
    for bad in ("javascript:alert(1)", "data:text/html,<b>", 'https://x.y/"onmouseover=1', None, 5):
        assert safe_url(bad) is None


def test_csv_downloads_neutralise_formulas():
    from dashboards.ui import safe_csv

    frame = pd.DataFrame({"text": ["=HYPERLINK(\"http://evil\")", "+1", "-cmd", "@SUM(A1)", "fine", None],
                          "n": [1, -2, 3, 4, 5, 6]})  # fmt: skip
    back = pd.read_csv(io.BytesIO(safe_csv(frame)))
    assert back["text"].tolist()[:5] == ['\'=HYPERLINK("http://evil")', "'+1", "'-cmd", "'@SUM(A1)", "fine"]
    assert back["n"].tolist() == [1, -2, 3, 4, 5, 6]  # numbers are not strings and stay numbers

"""The Streamlit dashboard renders the marts and reacts to filters (AppTest, headless)."""

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO


@pytest.fixture
def app(built_demo, monkeypatch):
    project, _ = built_demo
    monkeypatch.setenv("LISTENING_CONFIG", str(project.config_path))
    at = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at, project


def mart_totals(project, brands=None):
    path = project.storage.mart_path("mart_brand_volume")
    rows = duckdb.execute(
        f"SELECT brand_id, SUM(mentions) FROM read_parquet('{path}') WHERE period = 'day' GROUP BY 1"
    ).fetchall()
    names = {b.id: b.name for b in project.config.brands}
    return {names[b]: int(n) for b, n in rows if brands is None or b in brands}


def test_share_of_voice_page_shows_the_mart_numbers(app):
    at, project = app
    assert "Share of voice" in [t.value for t in at.title]
    shown = {m.label: int(float(m.value.replace(",", ""))) for m in at.metric}
    assert shown == mart_totals(project)
    assert len(at.get("vega_lite_chart")) == 2


def test_filters_change_the_view_and_the_url(app):
    at, project = app
    at.sidebar.multiselect[0].set_value(["korvo", "kvik"]).run()
    assert not at.exception
    shown = {m.label: int(float(m.value.replace(",", ""))) for m in at.metric}
    assert shown == mart_totals(project, {"korvo", "kvik"})
    assert at.query_params["brands"] in ("korvo,kvik", ["korvo,kvik"])
    at.sidebar.multiselect[2].set_value(["pl"]).run()
    polish = {m.label: int(float(m.value.replace(",", ""))) for m in at.metric}
    assert sum(polish.values()) < sum(shown.values())


def test_empty_state_without_marts(project_factory, monkeypatch):
    project = project_factory("empty")
    monkeypatch.setenv("LISTENING_CONFIG", str(project.config_path))
    at = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No marts yet" in i.value for i in at.info)

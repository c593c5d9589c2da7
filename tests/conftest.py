"""Shared fixtures. Airflow and the project read their environment at import time, so it is set here,
before any test module imports them: an isolated Airflow home and database, offline flags, a test
pseudonymisation key, and a demo project whose storage lives in a temporary folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="listening-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["LISTENING_PSEUDONYM_KEY"] = "test-key-not-secret"
# Prepared NLP models (about 800 MB, built once offline by `listening models prepare`) are shared by
# every test project; a fresh clone builds them on the first run (about 2 minutes).
os.environ.setdefault("LISTENING_MODELS_DIR", str(REPO / "var" / "models"))

DEMO_EXPORTS = _SESSION_DIR / "demo-exports"


def write_project(folder: Path, **overrides) -> Path:
    """A copy of the demo config whose storage and inputs live under ``folder``."""
    config = yaml.safe_load((REPO / "listening.yaml").read_text(encoding="utf-8"))
    config["storage"] = {"root": str(folder / "data")}
    for source in config["sources"]:
        source["path"] = str(DEMO_EXPORTS / Path(source["path"]).name)
    config.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "listening.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _generate_demo_exports() -> None:
    from pipelines.demo.generate import generate

    if not (DEMO_EXPORTS / "manifest.json").exists():
        generate(DEMO_EXPORTS)


_generate_demo_exports()
# DAG files read the project config when they are parsed.
os.environ["LISTENING_CONFIG"] = str(write_project(_SESSION_DIR / "dag-project"))


@pytest.fixture(scope="session", autouse=True)
def nlp_models() -> Path:
    """The runtime models, prepared once (a no-op when they already are)."""
    from nlp.models import prepare, runtime_dir
    from schemas.config import load_config

    config = load_config(REPO / "listening.yaml")
    prepare(config, REPO)
    return runtime_dir(config, REPO)


@pytest.fixture(scope="session")
def demo_exports() -> Path:
    return DEMO_EXPORTS


@pytest.fixture
def project_factory(tmp_path):
    from pipelines.project import open_project

    def make(name: str = "project", **overrides):
        return open_project(write_project(tmp_path / name, **overrides))

    return make


@pytest.fixture(scope="session")
def built_demo():
    """The demo pipeline run once without Airflow (shared by read-only tests)."""
    from pipelines.project import open_project
    from pipelines.run import run_all

    folder = _SESSION_DIR / "built-demo"
    project = open_project(write_project(folder))
    summary = run_all(project)
    return project, summary


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)

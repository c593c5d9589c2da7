"""The dashboard in a real browser: served on 127.0.0.1, driven with Playwright in Debian's Chromium,
every page opened, no error box, the expected heading and charts drawn, a screenshot of each saved.

Needs Debian's `chromium` (`make test` installs it when it can: scripts/system_deps.sh). Screenshots go
to $LISTENING_SCREENSHOTS when set (docs/img/ for the README is refreshed that way), else a temp folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
# url path -> heading, and what must be drawn (CSS selector, at least how many)
PAGES = {
    "": ("Overview", "[data-testid='stVegaLiteChart']", 2),
    "pain-points": ("Pain points", "[data-testid='stVegaLiteChart']", 3),
    "motives": ("Motives", "[data-testid='stVegaLiteChart']", 3),
    "tone": ("Tone and intents", "[data-testid='stPlotlyChart']", 1),
    "engagement": ("Engagement", "[data-testid='stVegaLiteChart']", 4),
    "alerts": ("Alerts", "[data-testid='stVegaLiteChart']", 1),
    "explorer": ("Post explorer", "[data-testid='stDataFrame']", 1),
    "digest": ("Weekly digest", "iframe", 1),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(built_demo):
    project, _ = built_demo
    port = _free_port()
    env = dict(os.environ, LISTENING_CONFIG=str(project.config_path))
    env.pop("LISTENING_DASHBOARD_AUTH", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "dashboard", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited: {proc.stdout.read()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the dashboard did not answer on 127.0.0.1 within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    # `listening dashboard` becomes the server, so stopping it leaves nothing serving on the port.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, (
            "the Streamlit server outlived `listening dashboard`"
        )


def _listening_sockets(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    return [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]


def test_every_page_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("LISTENING_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    query = "?from=2026-09-28&to=2026-10-25"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for path, (heading, selector, count) in PAGES.items():
            page.goto(f"{server}/{path}{query}", wait_until="networkidle")
            page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
            if path == "digest":  # no archived digest for the week: render the preview on demand
                page.get_by_text("Render a preview now").click()
            page.wait_for_function(
                "([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, count], timeout=60_000
            )
            # Wait for Streamlit to finish the run (no "running" indicator), then for charts to draw.
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=60_000)
            page.wait_for_timeout(800)
            assert page.locator("[data-testid='stException']").count() == 0, f"{path}: exception shown"
            alerts = page.locator("[data-testid='stAlertContentError']")
            assert alerts.count() == 0, f"{path}: {alerts.all_inner_texts()}"
            if selector.endswith("stVegaLiteChart']"):
                assert page.locator(f"{selector} canvas, {selector} svg").count() >= count, path
            assert page.get_by_text("Page not found").count() == 0, f"{path}: page not found"
            page.screenshot(path=str(shots / f"{path or 'overview'}.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert {p.stem for p in shots.glob("*.png")} >= {p or "overview" for p in PAGES}


def test_the_server_listens_on_loopback_only(server):
    port = server.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    ours = [line.split()[3] for line in out.splitlines() if line.split()[3].endswith(f":{port}")]
    assert ours and all(addr.startswith(("127.0.0.1:", "[::1]:")) for addr in ours), ours

"""The weekly digest: planted patterns, numbers equal to the marts, formats, delivery, byte-identical reruns.

One copy of the demo project's enriched layer and marts is digested once per module (W40, delivered to a
local SMTP server and a local Slack webhook); the other tests read that result or render another week.
"""

from __future__ import annotations

import copy
import csv
import email
import email.policy
import itertools
import json
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from pipelines.digest import (
    DeliveryError,
    DigestError,
    NoDataError,
    available_weeks,
    build_digest,
    csv_bytes,
    digest_cron,
    render_digest,
    week_before,
)
from pipelines.digest.render import render
from pipelines.digest.text import QuoteMasker
from schemas.config import ConfigError, parse_config
from tests.conftest import REPO

WEEK = "2026-W40"  # Kvik's delivery-delay surge (docs/demo-data.md)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = _Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"digest-user", b"s3cret"))

    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
def slack():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                {"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)}
            )
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX", received
    server.shutdown()


@pytest.fixture(scope="module")
def digest_project(built_demo, tmp_path_factory):
    """The demo's enriched layer and marts in a storage of its own, with email and Slack configured."""
    from pipelines.project import open_project

    demo, _ = built_demo
    folder = tmp_path_factory.mktemp("digest")
    source = Path(demo.storage.root)
    for layer in ("enriched", "marts"):
        shutil.copytree(source / layer, folder / "data" / layer)
    config = yaml.safe_load(demo.config_path.read_text(encoding="utf-8"))
    config["storage"] = {"root": str(folder / "data")}
    config["digest"] = {
        "email": {"to": ["team@example.com", "cmo@example.com"], "from": "digest@example.com",
                  "subject_prefix": "[Listening]"},
        "slack": {"webhook_env": "TEST_DIGEST_SLACK_URL"},
    }  # fmt: skip
    path = folder / "listening.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return open_project(path)


@pytest.fixture(scope="module")
def delivered(digest_project, smtp, slack):
    """W40 built once with delivery to the local servers."""
    controller, inbox = smtp
    url, received = slack
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW_CONN_LISTENING_SMTP",
            f"smtp://digest-user:s3cret@127.0.0.1:{controller.port}?disable_ssl=true&disable_tls=true",
        )
        mp.setenv("TEST_DIGEST_SLACK_URL", url)
        summary = build_digest(digest_project, WEEK)
    return summary, inbox, received


def _mart_row(project, name: str, **key) -> dict:
    table = project.storage.read_parquet(project.storage.mart_path(name)).to_pylist()
    rows = [r for r in table if all(str(r[k]) == str(v) for k, v in key.items())]
    assert len(rows) == 1, (name, key, len(rows))
    return rows[0]


def _archive(project, week: str) -> Path:
    return Path(project.storage.path("digests", week))


# -- content ----------------------------------------------------------------------------------------------
def test_available_weeks_newest_first(digest_project):
    weeks = available_weeks(digest_project)
    assert weeks[0] == "2026-W44" and weeks[-1] == "2026-W36"
    assert weeks == sorted(weeks, reverse=True) and WEEK in weeks


def test_w40_digest_names_kvik_delays_with_the_marts_numbers(delivered, digest_project):
    summary, _, _ = delivered
    assert "Kvik: delays well above competitors" in summary["movements"]
    row = _mart_row(digest_project, "mart_pain_points", period="week", period_start="2026-09-28",
                    brand_id="kvik", source="*", language="*", pain_point="delays")  # fmt: skip
    assert row["significant"] and row["rate_per_1000"] > 2 * row["competitor_rate"]
    md = (_archive(digest_project, WEEK) / "digest.md").read_text(encoding="utf-8")
    html = (_archive(digest_project, WEEK) / "digest.html").read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if "Kvik: delays well above competitors" in x)
    expected = (f"{row['rate_per_1000']:,.0f} per 1,000 mentions ({row['posts']} of {row['mentions']}; "
                f"last week {row['posts_prev']} posts")  # fmt: skip
    assert expected in line
    assert f"against {row['competitor_rate']:,.0f} for competitors: gap {row['gap']:+.0f}" in line
    assert expected in html
    # Headline KPIs are the mart's, and the action rule for a competitor's weakness fires.
    kpi = _mart_row(digest_project, "mart_brand_kpis", period="week", period_start="2026-09-28",
                    brand_id="kvik", source="*", language="*")  # fmt: skip
    assert (
        f"| Kvik | {kpi['mentions']:,} | {kpi['mentions_change_pct']:+.0f}% | {100 * kpi['share_of_voice']:.1f}%"
        in md
    )
    assert any("Kvik's customers complain about delays" in a for a in summary["actions"])
    # The movement comes with one or two representative (pseudonymised) quotes.
    lines = md.splitlines()
    after = lines[lines.index(line) + 1 :]
    quotes = list(itertools.takewhile(lambda x: x.startswith("   > “"), after))
    assert 1 <= len(quotes) <= 2


@pytest.mark.parametrize(
    ("week", "title", "detail"),
    [
        ("2026-W43", "Korvo: spike on Wednesday 21 October", "Outages and bugs"),
        ("2026-W38", "Mercato: discounts motive rising", "Mercato: share of voice up"),
    ],
)
def test_planted_patterns_of_other_weeks(digest_project, week, title, detail):
    rendered = render_digest(digest_project, week)
    titles = [m["title"] for m in rendered.content["movements"]]
    assert title in titles
    assert detail in rendered.markdown
    if week == "2026-W43":
        spike = next(m for m in rendered.content["movements"] if m["kind"] == "spike")
        assert spike["day"] == "2026-10-21" and "outages_bugs" in spike["top_pain_points"]
        row = _mart_row(digest_project, "mart_spikes", period="day", period_start="2026-10-21", brand_id="korvo",
                        source="*", language="*", metric="volume")  # fmt: skip
        assert (
            f"{row['value']:,.0f} mentions against a baseline of {row['baseline']:,.1f} a day"
            in spike["numbers"]
        )
    assert rendered.html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in rendered.html
    assert "cid:" not in rendered.html and rendered.pdf.startswith(b"%PDF")


def test_quotes_are_pseudonymised_and_escaped(digest_project):
    masker = QuoteMasker(digest_project.config)
    text = ("@jan_kowalski52 write me at jan.k@example.org or +48 600 123 456, see https://evil.example/x?y=1 "
            "— @korvo_help https://korvo.app/status www.private-blog.net")  # fmt: skip
    masked = masker(text)
    assert "jan_kowalski" not in masked and "jan.k@" not in masked and "600 123" not in masked
    assert "evil.example" not in masked and "private-blog" not in masked
    assert "@user" in masked and "[email]" in masked and "[link]" in masked and "[number]" in masked
    assert "@korvo_help" in masked and "https://korvo.app/status" in masked
    # Everything from posts is escaped in HTML and Markdown.
    original = render_digest(digest_project, WEEK).content
    content = copy.deepcopy(original)
    evil = "<script>alert('x')</script> *bold* [a](javascript:x)"
    content["movements"][0]["quotes"][0]["text"] = evil
    content["themes"][0]["label"] = "<img src=x onerror=alert(1)>"
    rendered = render(content, [])
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<img src=x" not in rendered.html
    assert (
        "\\<script\\>" in rendered.markdown
        and "\\*bold\\*" in rendered.markdown
        and "\\[a\\]" in rendered.markdown
    )
    assert "<script>" not in json.dumps(rendered.slack)
    # Quotes in the real digest carry no raw handle of a private person.
    for m in original["movements"]:
        for q in m["quotes"]:
            handles = [w for w in q["text"].split() if w.startswith("@")]
            assert all(
                h.rstrip(".,!?:;")
                in (
                    "@user",
                    "@kvik",
                    "@kvikcare",
                    "@korvo",
                    "@korvo_help",
                    "@mercato_shop",
                    "@mercatohelp",
                    "@zesta",
                    "@zesta_support",
                )
                for h in handles
            ), handles


# -- archive ----------------------------------------------------------------------------------------------
def test_archive_holds_formats_and_the_weeks_marts(delivered, digest_project):
    folder = _archive(digest_project, WEEK)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name in ("digest.html", "digest.md", "digest.pdf", "charts/mentions_trend.png", "marts/mart_pain_points.csv",
                 "marts/mart_pain_points.parquet", "marts/themes.parquet", "marts/mart_spikes.csv"):  # fmt: skip
        assert (folder / name).is_file(), name
        assert name in manifest["files"]
    import pyarrow.parquet as pq

    kpis = pq.read_table(folder / "marts" / "mart_brand_kpis.parquet")
    starts = set(kpis.column("period_start").to_pylist())
    assert {str(d) for d in starts} == {f"2026-09-{d}" for d in (28, 29, 30)} | {
        f"2026-10-0{d}" for d in range(1, 5)
    }
    with open(folder / "marts" / "mart_brand_kpis.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == kpis.column_names and len(rows) == kpis.num_rows + 1
    shares = [float(r[rows[0].index("share_of_voice")]) for r in rows[1:]]
    assert shares == kpis.column("share_of_voice").to_pylist()  # exactly the mart's numbers
    assert manifest["mart_rows"]["mart_brand_kpis"] == kpis.num_rows


def test_csv_neutralises_formulas():
    table = pa.table(
        {"text": ['=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "fine"], "value": [-1.5, 0.1, 2.0, 3.0, 4.0]}
    )
    rows = list(csv.reader(csv_bytes(table).decode().splitlines()))
    assert rows[0] == ["text", "value"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'+1", "'-cmd", "'@SUM(A1)", "fine"]
    assert [float(r[1]) for r in rows[1:]] == [-1.5, 0.1, 2.0, 3.0, 4.0]  # numbers stay numbers, exactly


def test_rerun_rebuilds_identical_bytes_and_does_not_resend(delivered, digest_project, smtp, slack):
    summary, inbox, received = delivered
    folder = _archive(digest_project, WEEK)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    shutil.rmtree(folder)
    sent_mails, sent_hooks = len(inbox.messages), len(received)
    controller, _ = smtp
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW_CONN_LISTENING_SMTP",
            f"smtp://127.0.0.1:{controller.port}?disable_ssl=true&disable_tls=true",
        )
        mp.setenv("TEST_DIGEST_SLACK_URL", slack[0])
        again = build_digest(digest_project, WEEK)
        after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert after.keys() == before.keys()
        assert [k for k in after if after[k] != before[k]] == []
        assert again["content_hash"] == summary["content_hash"]
        assert again["delivery"]["email"]["status"] == "already sent"
        assert again["delivery"]["slack"]["status"] == "already sent"
        assert (len(inbox.messages), len(received)) == (sent_mails, sent_hooks)
        forced = build_digest(digest_project, WEEK, force=True)
    assert forced["delivery"]["email"]["status"] == "sent" and forced["delivery"]["slack"]["status"] == "sent"
    assert (len(inbox.messages), len(received)) == (sent_mails + 1, sent_hooks + 1)
    state = json.loads(Path(digest_project.storage.path("state", "digests", f"{WEEK}.json")).read_text())
    assert (
        state["sent"]["email"]["sends"] == 2
        and state["sent"]["email"]["content_hash"] == summary["content_hash"]
    )


# -- delivery ---------------------------------------------------------------------------------------------
def test_email_arrives_with_html_images_and_pdf(delivered):
    summary, inbox, _ = delivered
    assert summary["delivery"]["email"]["status"] == "sent"
    recipients, raw = inbox.messages[0]
    assert recipients == ["team@example.com", "cmo@example.com"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"].strip() == f"[Listening] Korvo competitive listening (demo): weekly digest {WEEK}"
    assert msg["From"] == "digest@example.com"
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert (
        "Weekly digest 2026-W40" in html and 'src="cid:mentions_trend"' in html and "data:image" not in html
    )
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    assert "## What moved" in plain
    images = {p["Content-ID"]: p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert set(images) == {"<mentions_trend>", "<share_of_voice>"}
    assert all(data.startswith(b"\x89PNG") for data in images.values())
    attachments = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [a.get_filename() for a in attachments] == [f"digest-{WEEK}.pdf"]
    assert attachments[0].get_content().startswith(b"%PDF")
    assert b"s3cret" not in raw
    assert inbox.logins[0] == "digest-user"  # the connection's credentials were used


def test_slack_webhook_receives_the_payload(delivered):
    summary, _, received = delivered
    assert summary["delivery"]["slack"]["status"] == "sent"
    hook = received[0]
    assert hook["path"] == "/services/T000/B000/XXXX" and hook["type"].startswith("application/json")
    blocks = hook["json"]["blocks"]
    assert blocks[0]["type"] == "header" and WEEK in blocks[0]["text"]["text"]
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "Kvik: delays well above competitors" in text and "*Headline numbers*" in text


def test_delivery_off_when_not_configured_and_clear_when_broken(digest_project, monkeypatch, caplog):
    rendered_off = build_digest(digest_project, "2026-W41", deliver=False)
    assert rendered_off["delivery"] == {"status": "skipped"}
    from pipelines.digest.build import _deliver
    from pipelines.project import Project

    bare = Project(config=digest_project.config.model_copy(update={"digest": type(digest_project.config.digest)()}),
                   config_path=digest_project.config_path)  # fmt: skip
    with caplog.at_level("INFO"):
        report = _deliver(bare, render_digest(digest_project, "2026-W41"), "h", force=False)
    assert report == {"email": {"status": "off"}, "slack": {"status": "off"}}
    assert "email delivery is off (no digest.email in the config)" in caplog.text
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    monkeypatch.setenv("TEST_DIGEST_SLACK_URL", f"http://127.0.0.1:{_free_port()}/hook")
    with pytest.raises(
        DeliveryError, match="email: no connection 'listening_smtp'.*slack: the webhook could not be reached"
    ):
        build_digest(digest_project, "2026-W42")
    assert (_archive(digest_project, "2026-W42") / "digest.pdf").is_file()  # archived all the same


# -- PDF ------------------------------------------------------------------------------------------------
def test_pdf_renders_to_png_pages_with_text(delivered, digest_project, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed")
    pdf = _archive(digest_project, WEEK) / "digest.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 2 <= len(pages) <= 8
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pages)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    else:
        from weasyprint import HTML  # noqa: F401 - poppler ships pdftotext with pdftoppm; keep a clear failure

        pytest.fail("pdftotext missing beside pdftoppm")
    assert "Weekly digest 2026-W40" in text and "What moved" in text and "Kvik" in text


# -- errors, schedule, config -----------------------------------------------------------------------------
def test_clear_errors(digest_project, project_factory):
    with pytest.raises(
        NoDataError, match=r"week 2026-W14 has no data in the marts \(weeks with data: 2026-W36 .. 2026-W44\)"
    ):
        render_digest(digest_project, "2026-W14")
    with pytest.raises(DigestError, match="not an ISO week like 2026-W14"):
        render_digest(digest_project, "2026-40")
    with pytest.raises(DigestError, match="does not exist"):
        render_digest(digest_project, "2026-W54")
    with pytest.raises(DigestError, match="run `listening marts` first"):
        render_digest(project_factory("empty"), WEEK)


def test_cli_digest_command(digest_project, capsys):
    from pipelines.cli import main

    assert main(["--config", str(digest_project.config_path), "digest", "--list"]) == 0
    assert json.loads(capsys.readouterr().out)[0] == "2026-W44"
    assert (
        main(["--config", str(digest_project.config_path), "digest", "--week", "2026-W13", "--no-deliver"])
        == 1
    )
    assert "week 2026-W13 has no data" in capsys.readouterr().err


def test_schedule_helpers(digest_project):
    import datetime as dt

    assert digest_cron(digest_project.config) == "0 8 * * 1"
    monday = dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.UTC)  # 08:00 in Warsaw: the run after W40
    assert week_before(monday, "Europe/Warsaw") == "2026-W40"
    assert week_before(dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC), "Europe/Warsaw") == "2026-W01"


def test_digest_config_is_validated():
    data = yaml.safe_load((REPO / "listening.yaml").read_text(encoding="utf-8"))
    data["digest"] = {"weekday": "funday", "email": {"to": ["not-an-address"], "from": "a@b.co"}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    assert "digest.weekday" in str(info.value) and "digest.email.to[0]" in str(info.value)
    data["digest"] = {"weekday": "friday", "hour": 17, "email": {"to": ["a@b.co"], "from": "d@b.co"}}
    config = parse_config(data, "test.yaml")
    assert config.digest.email.sender == "d@b.co" and config.digest.email.conn_id == "listening_smtp"

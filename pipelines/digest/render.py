"""The digest in its formats: HTML (email-safe), Markdown, PDF, Slack blocks; identical for identical marts.

HTML and Markdown come from Jinja2 templates (``templates/``); the HTML environment autoescapes, so
every string from posts is escaped, and the Markdown one escapes post text with ``md_escape``. Charts
are PNG (``charts.py``): in the archived HTML and the dashboard preview they are ``data:`` URIs (one
self-contained file), in the email ``cid:`` references to inline parts. The PDF is the archived HTML
through WeasyPrint, with no creation date and a file identifier derived from the content.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from pipelines.digest import charts
from pipelines.digest.text import md_escape, num, pct, pvalue, qvalue, signed, slack_escape

TEMPLATES = Path(__file__).with_name("templates")
IMAGE_NAMES = ("mentions_trend", "share_of_voice")
SLACK_TEXT_LIMIT = 2900  # Slack refuses section texts over 3,000 characters


@dataclass
class Rendered:
    """One week's digest in every format (``html`` is self-contained: images are data: URIs)."""

    week: str
    content: dict
    html: str
    markdown: str
    pdf: bytes
    images: dict[str, bytes]
    email_html: str  # the same HTML with cid: image references, for the email
    subject: str
    slack: dict = field(default_factory=dict)

    def files(self) -> dict[str, bytes]:
        """The digest files of the archive, by path relative to the week's folder."""
        out = {
            "digest.html": self.html.encode("utf-8"),
            "digest.md": self.markdown.encode("utf-8"),
            "digest.pdf": self.pdf,
        }
        out.update({f"charts/{name}.png": data for name, data in self.images.items()})
        return out


def _filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(num=num, pct=pct, signed=signed, pvalue=pvalue, qvalue=qvalue, md=md_escape)
    return env


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(str(TEMPLATES))
    html = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    markdown = jinja2.Environment(
        loader=loader, autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    return _filters(html), _filters(markdown)


def _data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def render_pdf(html: str) -> bytes:
    """The HTML as PDF (A4); byte-identical for identical HTML."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from weasyprint import HTML

    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(pdf_identifier=identifier)


def slack_payload(c: dict) -> dict:
    """Incoming-webhook payload: headline numbers, movements with one quote, actions (Block Kit)."""
    e = slack_escape
    kpis = "\n".join(
        f"{'*' + e(k['name']) + '*' if k['own'] else e(k['name'])}: {num(k['mentions'])} mentions "
        f"({signed(k['mentions_change_pct'], 0, '%')}), share {pct(k['share_of_voice'])}, "
        f"net sentiment {num(k['net_sentiment'], 1)} ({signed(k['net_sentiment_change'], 1)})"
        for k in c["kpis"]
    )
    moves = []
    for i, m in enumerate(c["movements"], 1):
        line = f"{i}. *{e(m['title'])}*: {e(m['numbers'])}"
        if m["quotes"]:
            line += f"\n> _{e(m['quotes'][0]['text'])}_"
        moves.append(line)
    actions = "\n".join(f"• {e(a['text'])}" for a in c["actions"]) or "No rule fired this week."

    def section(title: str, text: str) -> dict:
        text = f"*{title}*\n{text}"
        if len(text) > SLACK_TEXT_LIMIT:
            text = text[: SLACK_TEXT_LIMIT - 1] + "…"
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    title = f"{c['project']}: weekly digest {c['week']}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{c['start']} to {c['end']}, vs {c['previous_week']}"}]},
        section("Headline numbers", kpis),
        section("What moved", "\n".join(moves) or "No statistically significant movement this week."),
        section("Recommended actions", actions),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Full digest (HTML, PDF, Markdown, marts): digests/{c['week']}/ in the storage root"}]},
    ]  # fmt: skip
    return {"text": e(title), "blocks": blocks}


def render(content: dict, trend: list[dict], subject_prefix: str = "") -> Rendered:
    """Every format of a digest from its content (see ``content.digest_content``)."""
    images = {
        "mentions_trend": charts.mentions_trend(content["brands"], trend),
        "share_of_voice": charts.share_of_voice(content["kpis"], content["brands"]),
    }
    html_env, md_env = _environments()
    colors = {b["id"]: b["color"] for b in content["brands"]}
    template = html_env.get_template("digest.html.j2")
    html = template.render(c=content, colors=colors, images={k: _data_uri(v) for k, v in images.items()})
    email_html = template.render(c=content, colors=colors, images={k: f"cid:{k}" for k in images})
    markdown = md_env.get_template("digest.md.j2").render(c=content)
    subject = " ".join(
        p for p in (subject_prefix, f"{content['project']}: weekly digest {content['week']}") if p
    )
    return Rendered(
        week=content["week"], content=content, html=html, markdown=markdown, pdf=render_pdf(html),
        images=images, email_html=email_html, subject=subject, slack=slack_payload(content),
    )  # fmt: skip

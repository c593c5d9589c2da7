"""Quotes and numbers as they appear in a digest.

Quotes come from posts, so they are untrusted text: ``mask_quote`` removes what could identify a private
person (other people's @handles, email addresses, links, phone-like numbers; configured brand handles
and links to brand domains stay) and shortens them; escaping is left to the renderers (Jinja2 autoescape
for HTML, ``md_escape`` for Markdown, ``slack_escape`` for Slack).
"""

from __future__ import annotations

import math
import re

from schemas.config import ProjectConfig

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(?<![\w@])@[\w.]*\w")
PHONE_RE = re.compile(r"(?<!\w)\+?\d[\d ()-]{6,}\d(?!\w)")
QUOTE_CHARS = 280


class QuoteMasker:
    """Masks private identifiers in post text; the project's brand handles and domains stay."""

    def __init__(self, config: ProjectConfig):
        self.handles = {h.lower().lstrip("@") for b in config.brands for h in b.handles if h.startswith("@")}
        self.domains = {d.lower() for b in config.brands for d in b.domains}

    def _url(self, match: re.Match) -> str:
        url = match.group(0)
        host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE).split("/")[0].lower()
        host = host.split(":")[0]
        if any(host == d or host.endswith("." + d) for d in self.domains):
            return url
        return "[link]"

    def _handle(self, match: re.Match) -> str:
        return match.group(0) if match.group(0)[1:].lower() in self.handles else "@user"

    def __call__(self, text: str | None, limit: int = QUOTE_CHARS) -> str:
        text = " ".join((text or "").split())
        text = EMAIL_RE.sub("[email]", text)
        text = URL_RE.sub(self._url, text)
        text = HANDLE_RE.sub(self._handle, text)
        text = PHONE_RE.sub("[number]", text)
        if len(text) > limit:
            text = text[: limit - 1].rstrip() + "…"
        return text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Markdown-safe inline text: emphasis, code, links, inline HTML, headings and table pipes are
    backslash-escaped and ``&`` is written as an entity (the text never starts a line)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text).replace("&", "&amp;"))


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (the three Slack asks to escape)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- numbers ------------------------------------------------------------------------------------------
def _ok(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def num(value, digits: int = 0) -> str:
    """1,234 / 12.3; an en dash when unknown."""
    return f"{value:,.{digits}f}" if _ok(value) else "–"


def pct(share, digits: int = 1) -> str:
    """A share (0..1) as a percentage."""
    return f"{100 * share:.{digits}f}%" if _ok(share) else "–"


def signed(value, digits: int = 1, unit: str = "") -> str:
    """+1.2 / -0.4 / ±0.0 with an optional unit; an en dash when unknown."""
    if not _ok(value):
        return "–"
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        text = "±" + text[1:].lstrip("+-")
    return f"{text}{unit}"


def pvalue(p) -> str:
    if not _ok(p):
        return "–"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def qvalue(q) -> str:
    if not _ok(q):
        return "–"
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def minutes(value) -> str:
    if not _ok(value):
        return "–"
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"

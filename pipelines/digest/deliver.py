"""Delivering a digest: email through an SMTP connection, Slack through an incoming webhook.

Secrets never come from the config: the SMTP host and credentials are an Airflow Connection
(``digest.email.conn_id``, default ``listening_smtp``), read from ``$AIRFLOW_CONN_<ID>`` (a URI such as
``smtp://user:password@smtp.example.com:587?disable_ssl=true``, or Airflow's JSON form) or, inside
Airflow, from its connections; the Slack webhook URL is in the environment variable named by
``digest.slack.webhook_env`` or in the Airflow Connection of that id (its password or host). Nothing
here logs a URL, a login or a password.

What was sent is recorded in ``state/digests/<week>.json`` per channel with the content hash; a channel
already sent for the week is not sent again unless forced.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

TIMEOUT_S = 30
TRUE = ("1", "true", "yes", "on")


class DeliveryError(RuntimeError):
    """A configured channel could not deliver; the message names the channel and the reason."""


@dataclass
class Conn:
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str = ""
    extra: dict = field(default_factory=dict)


def parse_connection(value: str) -> Conn:
    """An Airflow connection from its URI or JSON form (as in ``AIRFLOW_CONN_<ID>``)."""
    value = value.strip()
    if value.startswith("{"):
        data = json.loads(value)
        extra = data.get("extra") or {}
        return Conn(
            conn_type=data.get("conn_type", ""), host=data.get("host") or "", port=data.get("port"),
            login=data.get("login"), password=data.get("password"), schema=data.get("schema") or "",
            extra=json.loads(extra) if isinstance(extra, str) else dict(extra),
        )  # fmt: skip
    parts = urlsplit(value)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return Conn(
        conn_type=parts.scheme.replace("-", "_"), host=unquote(parts.hostname or ""), port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")), extra=extra,
    )  # fmt: skip


def get_connection(conn_id: str) -> Conn | None:
    """``$AIRFLOW_CONN_<ID>`` first; else Airflow's own lookup when running inside Airflow; else None."""
    env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if env:
        return parse_connection(env)
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not in Airflow, or no such connection: the caller reports it
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    return Conn(
        conn.conn_type or "", conn.host or "", conn.port, conn.login, conn.password, conn.schema or "", extra
    )


# -- email ----------------------------------------------------------------------------------------------
def email_message(rendered, sender: str, to: list[str]) -> EmailMessage:
    """multipart/mixed: (plain Markdown | HTML with its inline chart images) + the PDF attached."""
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    msg.set_content(rendered.markdown)
    msg.add_alternative(rendered.email_html, subtype="html")
    html_part = msg.get_payload()[1]
    for name, data in rendered.images.items():
        html_part.add_related(data, maintype="image", subtype="png", cid=f"<{name}>", filename=f"{name}.png")
    msg.add_attachment(
        rendered.pdf, maintype="application", subtype="pdf", filename=f"digest-{rendered.week}.pdf"
    )
    return msg


def send_email(rendered, email_config) -> dict:
    conn = get_connection(email_config.conn_id)
    if conn is None:
        raise DeliveryError(
            f"email: no connection {email_config.conn_id!r} (create the Airflow Connection or set "
            f"AIRFLOW_CONN_{email_config.conn_id.upper()})"
        )
    if not conn.host:
        raise DeliveryError(f"email: connection {email_config.conn_id!r} has no host")
    extra = {k: str(v).lower() for k, v in conn.extra.items()}
    use_ssl = extra.get("disable_ssl") not in TRUE
    use_tls = extra.get("disable_tls") not in TRUE
    port = conn.port or (465 if use_ssl else 587 if use_tls else 25)
    timeout = float(conn.extra.get("timeout", TIMEOUT_S))
    msg = email_message(rendered, email_config.sender, list(email_config.to))
    try:
        if use_ssl:
            client = smtplib.SMTP_SSL(conn.host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(conn.host, port, timeout=timeout)
        with client:
            if not use_ssl and use_tls:
                client.starttls(context=ssl.create_default_context())
            if conn.login:
                client.login(conn.login, conn.password or "")
            refused = client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # The exception text never holds the password; the login is not repeated here either.
        raise DeliveryError(
            f"email: sending through {conn.host}:{port} failed: {type(exc).__name__}: {exc}"
        ) from None
    delivered = [a for a in email_config.to if a not in refused]
    log.info(
        "digest %s emailed to %d recipient(s) through %s:%d", rendered.week, len(delivered), conn.host, port
    )
    return {"to": delivered, "refused": sorted(refused), "message_id": msg["Message-ID"]}


# -- Slack ----------------------------------------------------------------------------------------------
def slack_url(slack_config) -> str | None:
    name = slack_config.webhook_env
    url = os.environ.get(name)
    if url:
        return url.strip()
    conn = get_connection(name)
    if conn is None:
        return None
    if conn.password and conn.password.startswith("https://"):
        return conn.password
    if conn.extra.get("webhook_url"):
        return str(conn.extra["webhook_url"])
    if conn.host:
        host = conn.host if "://" in conn.host else f"https://{conn.host}"
        return f"{host.rstrip('/')}/{(conn.password or conn.schema).lstrip('/')}"
    return None


def send_slack(rendered, slack_config) -> dict:
    url = slack_url(slack_config)
    if not url:
        raise DeliveryError(
            f"slack: no webhook URL in ${slack_config.webhook_env} or an Airflow Connection of that id"
        )
    body = json.dumps(rendered.slack, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - configured URL
            status, answer = response.status, response.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"slack: the webhook answered HTTP {exc.code}") from None
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"slack: the webhook could not be reached ({type(reason).__name__})") from None
    log.info("digest %s posted to Slack (HTTP %d)", rendered.week, status)
    return {"http_status": status, "answer": answer}

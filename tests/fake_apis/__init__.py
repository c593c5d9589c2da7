"""Local stand-ins for the live sources' APIs: an HTTP server on 127.0.0.1 that answers in each API's
documented shape, with faults on demand (429 + Retry-After, 5xx, slow answers, malformed or truncated
bodies). Each ``<kind>.py`` module here defines ``Fake`` (a ``FakeApi`` subclass) for one connector.

A fake holds ``records``: the API's items, each with a UTC ``time`` used for windows. ``handle`` turns a
request into a response; tests queue faults with ``fail(...)``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0

    @classmethod
    def json(cls, value: object, status: int = 200) -> Reply:
        return cls(status, json.dumps(value).encode("utf-8"))


FAULTS = {
    "429": lambda: Reply(429, b'{"error": "rate limited"}', {"Retry-After": "1"}),
    "500": lambda: Reply(500, b"internal error"),
    "503": lambda: Reply(503, b"down for maintenance"),
    "401": lambda: Reply(401, b'{"error": "invalid token"}'),
    "slow": lambda: Reply(200, b"{}", delay_s=2.5),
    "malformed": lambda: Reply(200, b"<html>not json</html>"),
    "truncated": lambda: Reply(200, b'{"hits": [{"objectID": "1", "tit'),
}


class FakeApi:
    """Base of the fakes: a threaded server, request log and a fault queue."""

    def __init__(self, records: list[dict] | None = None):
        self.records = list(records or [])
        self.requests: list[Request] = []
        self.faults: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    # -- to implement per API ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- test controls -----------------------------------------------------------------------------------------
    def fail(self, *faults: str) -> None:
        """The next requests answer with these faults, in order (then normally again)."""
        self.faults.extend(faults)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, urllib.parse.parse_qs(parts.query),
                                  dict(self.headers.items()), self.rfile.read(length) if length else b"")  # fmt: skip
                fake.requests.append(request)
                reply = FAULTS[fake.faults.pop(0)]() if fake.faults else fake.handle(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())

"""Small loopback HTTP servers that stand between smstate and moto and misbehave in one way each.

- `AnswerProxy`: answers every request itself with status 200 and a fixed body (an HTML
  login page of a captive proxy, garbage, an empty JSON object).
- `S3Proxy`: forwards to moto but drops `If-None-Match` (an S3-compatible store that ignores
  it), and can play a second writer that wins the race for the lock object.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from tests.reliability.proxy import HOP_BY_HOP, send



class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        send(self, status, headers, data)


class AnswerProxy(_Server):
    """Every request gets 200 with `body` as `content_type`, whatever it asked."""

    def __init__(self, body: bytes, content_type: str) -> None:
        class Handler(_Handler):
            def _serve(self) -> None:
                self._body()
                self._send(200, [("Content-Type", content_type)], body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Handler)


class S3Proxy(_Server):
    """moto behind a store that ignores `If-None-Match`; `after_put(path)` runs after each PUT is forwarded."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port
        target = (parts.hostname, parts.port)
        self.after_put: Callable[[str], None] = lambda path: None
        proxy = self

        class Handler(_Handler):
            def _serve(self) -> None:
                body = self._body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in (*HOP_BY_HOP, "if-none-match")}
                upstream_conn = http.client.HTTPConnection(*target, timeout=30)
                try:
                    upstream_conn.request(self.command, self.path, body=body, headers=headers)
                    response = upstream_conn.getresponse()
                    status, answer_headers, data = response.status, response.getheaders(), response.read()
                finally:
                    upstream_conn.close()
                if self.command == "PUT" and status == 200:
                    proxy.after_put(self.path)
                self._send(status, answer_headers, data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Handler)

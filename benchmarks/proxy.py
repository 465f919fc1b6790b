"""A loopback HTTP proxy that counts API calls by operation and can add latency.

Point a client's endpoint URL at it; it forwards every request to the real endpoint, except
the operations it is told to deny: those it answers itself with AccessDeniedException, as
AWS answers a caller whose policy does not allow them.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class CountingProxy:
    def __init__(self, upstream: str, latency: float = 0.0, deny: frozenset[str] = frozenset()) -> None:
        self.upstream = urlsplit(upstream)
        self.latency = latency
        self.deny = deny
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                operation = target.split(".")[-1] if target else f"{self.command} {self.path.split('?')[0]}"
                with proxy._lock:
                    proxy.calls[operation] += 1
                if proxy.latency:
                    time.sleep(proxy.latency)
                if operation in proxy.deny:
                    _refuse(self, operation)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _refuse(handler: BaseHTTPRequestHandler, operation: str) -> None:
    """Answer as AWS answers a caller whose policy does not allow `operation`."""
    message = f"User is not authorized to perform: tag:{operation}"
    data = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    handler.send_response(400)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)

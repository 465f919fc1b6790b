"""Loopback HTTP servers between smstate and an API: the one proxy of the tests and benchmarks.

`FaultProxy` counts calls and injects faults (below); `AnswerProxy` answers everything itself
with one fixed body; `S3Proxy` forwards to moto but drops `If-None-Match`.

smstate is pointed at the proxy (`provider.url`, or `AWS_ENDPOINT_URL`) and never knows it
is there: there are no test hooks in the product. The proxy can

- add latency to every call;
- answer a share of the SageMaker calls itself, chosen by a seeded RNG, with a throttle
  (400 `ThrottlingException` in the JSON 1.1 error shape), a 500 or a 503 - or forward the
  call and *then* answer 503, or reset the connection before or after forwarding it (the
  "after" faults are the nasty ones: the server did the work, the client saw a failure);
- SIGKILL a process right after forwarding its Nth SageMaker call, before it sees the answer;
- go away for good: every later request has its connection reset and new connections are refused;
- hang: accept the calls a predicate picks and never answer them (nothing is forwarded) until
  `release()`, after which they are forwarded as usual;
- deny operations, answering them itself with `AccessDeniedException`, as AWS answers a caller
  whose policy does not allow them.

Only control-plane calls (those with an `X-Amz-Target` header: SageMaker, Application Auto
Scaling) are counted and faulted, and CloudWatch's RPC v2 CBOR calls are counted (a kill can
follow them) but never faulted; the local target's `GET /ping` presence check passes through.
"""

from __future__ import annotations

import enum
import http.client
import json
import os
import random
import signal
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade")


def send(handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
    """Answer with `data`, passing on the headers an answer of its own may carry."""
    handler.send_response(status)
    for key, value in headers:
        if key.lower() not in HOP_BY_HOP and key.lower() not in ("server", "date"):
            handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)


class Fault(enum.Enum):
    THROTTLE = "throttle"  # 400 ThrottlingException, not forwarded
    ERROR_500 = "500"  # 500 InternalFailure, not forwarded
    ERROR_503 = "503"  # 503 ServiceUnavailable, not forwarded
    ERROR_503_AFTER = "503-after"  # forwarded, then 503: the server did the work
    RESET_BEFORE = "reset"  # connection reset, not forwarded
    RESET_AFTER = "reset-after"  # forwarded, then the connection reset: the server did the work

    @property
    def forwards(self) -> bool:
        return self in (Fault.ERROR_503_AFTER, Fault.RESET_AFTER)


ERROR_BODIES = {
    Fault.THROTTLE: (400, "ThrottlingException", "Rate exceeded"),
    Fault.ERROR_500: (500, "InternalFailure", "We encountered an internal error. Please try again."),
    Fault.ERROR_503: (503, "ServiceUnavailable", "Service is unavailable. Please try again."),
    Fault.ERROR_503_AFTER: (503, "ServiceUnavailable", "Service is unavailable. Please try again."),
}


@dataclass
class Faults:
    """Which calls go wrong: `rate` of them, each with a fault drawn from `kinds`, by a seeded RNG."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[Fault, ...] = tuple(Fault)
    latency: tuple[float, float] = (0.0, 0.0)
    """Seconds added to every call, uniformly between the two bounds."""


@dataclass(frozen=True)
class Call:
    operation: str
    fault: Fault | None


@dataclass
class _Kill:
    after: int
    pid: int | None = None
    pid_known: threading.Event = field(default_factory=threading.Event)
    done: bool = False


class Loopback:
    """An HTTP server on 127.0.0.1 in a thread of its own: `with X(...) as server:` serves on
    `server.url` until the block ends."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name=type(self).__name__, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


class Handler(BaseHTTPRequestHandler):
    """Keep-alive, quiet, TCP_NODELAY; reads a body whole and answers with `send`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        send(self, status, headers, data)


class FaultProxy(Loopback):
    """`with FaultProxy(upstream) as proxy:` serves on `proxy.url` until the block ends."""

    def __init__(
        self, upstream: str, faults: Faults | None = None, port: int = 0, deny: frozenset[str] = frozenset()
    ) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.faults = faults or Faults()
        self.deny = deny
        """Operations answered with AccessDeniedException, never forwarded."""
        self.calls: list[Call] = []
        self.gone = False
        self.gone_after: int | None = None
        """Go away for good once this many calls were counted."""
        self.hang: Callable[[str], bool] | None = None
        """Which operations hang: accepted, never forwarded nor answered until `release()`."""
        self.hanging = threading.Semaphore(0)
        """Released once per call that starts hanging."""
        self._released = threading.Event()
        self._drop_hung = False
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._kill: _Kill | None = None
        super().__init__(_handler(self), port)

    def release(self, forward: bool = True) -> None:
        """No new call hangs; hung calls go on (forwarded and answered), or have their connection reset."""
        self.hang = None
        self._drop_hung = not forward
        self._released.set()

    def close(self) -> None:
        """The API is gone: the listener closes, and requests on open connections are reset."""
        self.gone = True
        self._released.set()
        super().close()

    # -- what happened ----------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.calls)

    def faulted(self) -> Counter[Fault]:
        return Counter(c.fault for c in self.calls if c.fault is not None)

    def operations(self) -> Counter[str]:
        return Counter(c.operation for c in self.calls)

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- killing ----------------------------------------------------------------------

    def kill_after(self, calls: int) -> Callable[[int], None]:
        """Arm: SIGKILL the process whose pid is passed to the returned function after its `calls`th call."""
        kill = _Kill(calls)
        with self._lock:
            self.calls.clear()
            self._kill = kill

        def set_pid(pid: int) -> None:
            kill.pid = pid
            kill.pid_known.set()

        return set_pid

    @property
    def killed(self) -> bool:
        return self._kill is not None and self._kill.done

    def disarm(self) -> None:
        with self._lock:
            self._kill = None

    # -- per call ---------------------------------------------------------------------

    def _decide(self, operation: str) -> tuple[Fault | None, _Kill | None, float]:
        """(fault, the kill to carry out after forwarding, latency) for the next counted call."""
        with self._lock:
            fault = None
            if self.faults.rate and self._rng.random() < self.faults.rate:
                fault = self._rng.choice(self.faults.kinds)
            low, high = self.faults.latency
            latency = self._rng.uniform(low, high) if high else 0.0
            self.calls.append(Call(operation, fault))
            if self.gone_after is not None and len(self.calls) > self.gone_after:
                self.gone = True
            kill = self._kill if self._kill is not None and len(self.calls) == self._kill.after else None
            if kill is not None:
                fault = None
            return fault, kill, latency

    @staticmethod
    def _do_kill(kill: _Kill) -> None:
        kill.pid_known.wait(10)
        kill.done = True
        if kill.pid is not None:
            try:
                os.kill(kill.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Faulty(Handler):
        def handle(self) -> None:
            try:
                super().handle()
            except (OSError, ValueError):
                pass  # the connection was reset on purpose, or the client went away

        def finish(self) -> None:
            try:
                super().finish()
            except (OSError, ValueError):
                pass

        def _reset(self) -> None:
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        raise ConnectionError("the client went away in the middle of its request")
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                raise ConnectionError("the client went away in the middle of its request")  # never forward half a request
            return body

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                upstream.close()

        def _error(self, fault: Fault) -> None:
            status, code, message = ERROR_BODIES[fault]
            data = json.dumps({"__type": code, "message": message}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", code),
                ("x-amzn-RequestId", f"fault-proxy-{time.monotonic_ns()}"),
            ]
            self._send(status, headers, data)

        def _denied(self, operation: str) -> None:
            message = f"User is not authorized to perform: {operation}"
            data = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
            self._send(400, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "AccessDeniedException")], data)

        def _serve(self) -> None:
            body = self._body()
            if proxy.gone:
                return self._reset()
            target = self.headers.get("X-Amz-Target", "")
            cbor = not target and "/operation/" in self.path  # CloudWatch's RPC v2 CBOR: counted and killed, never faulted
            if not target and not cbor:
                return self._send(*self._forward(body))
            operation = target.rsplit(".", 1)[-1] if target else self.path.rsplit("/", 1)[-1]
            hang = proxy.hang
            if hang is not None and hang(operation):
                proxy.hanging.release()
                proxy._released.wait()
                if proxy.gone or proxy._drop_hung:
                    return self._reset()
            fault, kill, latency = proxy._decide(operation)
            fault = None if cbor else fault  # its error shape is CBOR, which this proxy does not write
            if proxy.gone:
                threading.Thread(target=proxy.close, daemon=True).start()
                return self._reset()
            if latency:
                time.sleep(latency)
            if operation in proxy.deny:
                return self._denied(operation)
            if fault in (Fault.THROTTLE, Fault.ERROR_500, Fault.ERROR_503):
                return self._error(fault)
            if fault is Fault.RESET_BEFORE:
                return self._reset()
            answer = self._forward(body)
            if kill is not None:
                proxy._do_kill(kill)
                return self._reset()
            if proxy.gone or fault is Fault.RESET_AFTER:
                return self._reset()
            if fault is Fault.ERROR_503_AFTER:
                return self._error(fault)
            self._send(*answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    return Faulty


class AnswerProxy(Loopback):
    """Every request gets 200 with `body` as `content_type`, whatever it asked (a captive
    proxy's login page, garbage, an empty JSON object)."""

    def __init__(self, body: bytes, content_type: str) -> None:
        class Answering(Handler):
            def _serve(self) -> None:
                self._body()
                self._send(200, [("Content-Type", content_type)], body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Answering)


class S3Proxy(Loopback):
    """moto behind a store that ignores `If-None-Match`; `after_put(path)` runs after each PUT
    is forwarded (to play a second writer that wins the race for the lock object)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port
        target = (parts.hostname, parts.port)
        self.after_put: Callable[[str], None] = lambda path: None
        proxy = self

        class Forgetful(Handler):
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

        super().__init__(Forgetful)

"""The local server's front door: who may connect, for how long, how many at once.

Every accepted connection is checked once (keep-alive then costs nothing more):

- its peer uid (`peers.peer_uid`) must be the server's owner; any other user's
  connection, or one whose user cannot be known, gets AWS's `AccessDeniedException`
  (403) to every request, is logged (at most once a minute per user, with a
  count), and is closed after the answer. Another user could otherwise run code
  as the owner (a model archive is code) and read the owner's model environments.
- a client has `request_timeout` seconds to send a whole request, counted from
  its connection or from the first byte of the request; an idle keep-alive
  connection is closed after `keep_alive` seconds (uvicorn's own timer). Sockets
  that never finish a request (slowloris) are reaped instead of held forever,
  and headers past `MAX_HEAD_BYTES` end the connection (httptools sets no bound).
- at most `max_connections` are open; at the limit, the oldest refused
  connection, else the oldest one not running a request, is closed to make room,
  so an idle flood cannot keep the control plane from answering its owner. Only
  when every connection is busy is a newcomer turned away, with a 503 that
  botocore retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from providers.local.app import Receive, Scope, Send
from providers.local.errors import JSON_11, REST_JSON, ApiError, error_headers, json11_body
from providers.local.peers import peer_uid

log = logging.getLogger("smstate.local")

#: Seconds between two warnings of one kind (the connection limit hit, one user refused).
WARN_EVERY = 60.0

_BUSY_BODY = b'{"__type": "ServiceUnavailable", "message": "The local SageMaker has too many connections."}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/x-amz-json-1.1\r\n"
    b"x-amzn-errortype: ServiceUnavailable\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)

#: Most bytes a request line and headers may take (AWS allows far less).
MAX_HEAD_BYTES = 64 * 1024
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
)


class Refusal:
    """The ASGI app a refused connection gets instead of the server's."""

    def __init__(self, message: str) -> None:
        self.error = ApiError("AccessDeniedException", message, status=403)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        content_type = JSON_11 if scope.get("path") in ("/", "") else REST_JSON
        body = json11_body(self.error)
        headers = error_headers(self.error, content_type)
        headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})


UNCHECKED = Refusal("The local SageMaker could not check who this connection belongs to.")


class Guard:
    """The rules and the book of open connections, shared by every connection."""

    def __init__(self, owner: int, request_timeout: float, max_connections: int) -> None:
        self.owner = owner
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.open: dict[GuardedProtocol, None] = {}  # oldest first
        self.warned_at = float("-inf")
        self.refused: dict[str, tuple[float, int]] = {}  # who -> (last logged, refused since)

    def refusal(self, client: tuple[str, int] | None, server: tuple[str, int | None] | None) -> Refusal | None:
        """None for the owner's connection; the refusal any other one gets."""
        try:
            uid = peer_uid(client, (server[0], server[1])) if client and server and server[1] else None
        except Exception:  # a lookup that fails proves nothing: refuse
            log.exception("could not look up the user of a connection from %s", client)
            uid = None
        if uid == self.owner:
            return None
        who = f"uid {uid}" if uid is not None else "a process whose user cannot be determined"
        self._log_refusal(who, f"{client[0]}:{client[1]}" if client else "an unknown address")
        return Refusal(f"The local SageMaker serves only the user who started it (uid {self.owner}); "
                       f"this connection is from {who}.")  # fmt: skip

    def _log_refusal(self, who: str, where: str) -> None:
        """One line per user per `WARN_EVERY` seconds, so a flood cannot fill the disk."""
        now = time.monotonic()
        last, missed = self.refused.get(who, (float("-inf"), 0))
        if now - last < WARN_EVERY:
            self.refused[who] = (last, missed + 1)
            return
        self.refused[who] = (now, 0)
        more = f" ({missed} more refused since the last report)" if missed else ""
        log.warning("refused a connection from %s (%s): this server serves only uid %s%s", who, where, self.owner, more)

    def admit(self, newcomer: GuardedProtocol) -> bool:
        """Make room for `newcomer`; False if every open connection is busy."""
        if len(self.open) >= self.max_connections:
            victim = next((c for c in self.open if c.refused), None)
            victim = victim or next((c for c in self.open if c.between_requests()), None)
            if time.monotonic() - self.warned_at > WARN_EVERY:
                self.warned_at = time.monotonic()
                log.warning("%d connections are open, the most allowed; closing idle ones", len(self.open))
            if victim is None:
                return False
            self.forget(victim)
            victim.transport.close()
        self.open[newcomer] = None
        return True

    def forget(self, connection: GuardedProtocol) -> None:
        self.open.pop(connection, None)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the guard's checks and request timer."""

    guard: ClassVar[Guard]
    request_timer: asyncio.TimerHandle | None = None
    head_bytes = 0  # of the request whose headers are being read
    refused = False  # another user's connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        served, self.app = self.app, UNCHECKED  # refused unless shown to be the owner's
        refusal = self.guard.refusal(self.client, self.server)
        self.app = served if refusal is None else refusal
        self.refused = refusal is not None
        if not self.guard.admit(self):
            transport.write(_BUSY)
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        reading_head = self.between_requests()
        if reading_head:
            self._arm()
            self.head_bytes += len(data)
        super().data_received(data)
        if reading_head and self.head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            log.warning("closed a connection whose request line and headers passed %d bytes", MAX_HEAD_BYTES)
            self.transport.write(_TOO_LARGE)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self.head_bytes = 0  # the headers ended within what was counted
        super().on_headers_complete()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def between_requests(self) -> bool:
        """True unless a request has been read and is being answered."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self.request_timer is None:
            self.request_timer = self.loop.call_later(self.guard.request_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self.request_timer is not None:
            self.request_timer.cancel()
            self.request_timer = None

    def _timed_out(self) -> None:
        self.request_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol(guard: Guard) -> type[GuardedProtocol]:
    """A protocol class bound to `guard`, for `uvicorn.Config(http=...)`."""
    return type("GuardedProtocol", (GuardedProtocol,), {"guard": guard})

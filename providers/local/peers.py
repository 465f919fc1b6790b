"""Who is at the other end of a loopback TCP connection, from `/proc/net/tcp{,6}`.

Loopback keeps the network out but not the other users of the machine, so the
local server serves only its owner: for each accepted connection it finds the
client's own socket (the row whose local address is the connection's remote
end and whose remote address is ours) and reads the uid that created it. The
kernel keeps that uid on the socket for its whole life; a socket already closed
by its process (inode 0: orphaned, or TIME_WAIT, where the kernel shows uid 0)
proves nothing, so it counts as unknown, and unknown is refused.

The row is read through the kernel's sock_diag netlink interface: an exact
lookup by address, which costs the same however many sockets exist (the text
tables are generated whole on every read, so a flood of connections would make
reading them per connection quadratic). The text tables are the fallback where
sock_diag is missing; where neither answers, the server does not start.

`listener_inode` finds the socket listening at an address, so `stop` can check
that the process it is about to signal is the one serving that URL.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from pathlib import Path

TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN = "0A"

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = (0xFFFFFFFF, 0xFFFFFFFF)


class PeerLookupUnavailable(Exception):
    """The kernel's socket tables cannot be read: nobody's uid can be known."""


def check_available() -> None:
    """Raise `PeerLookupUnavailable` unless a loopback connection of our own is
    found to be ours: the server must not start if it cannot tell users apart."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname(), timeout=5):
            accepted, address = listener.accept()
            with accepted:
                uid = peer_uid(address, accepted.getsockname())
    if uid != os.geteuid():
        raise PeerLookupUnavailable(
            f"cannot tell which user a loopback connection belongs to (neither sock_diag nor {TABLES[0]} "
            "answered), so the local server refuses to run rather than serve every local user"
        )


def peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the client socket of the connection `peer` -> `local`,
    or None when it cannot be known (the row is gone, or the socket is orphaned)."""
    try:
        return _diag_uid(peer, local)
    except OSError:
        pass
    for table, peer_key, local_key in _keys(peer, local):
        row = _find(table, f" {peer_key} {local_key} ")
        if row is not None:
            fields = row.split()
            return int(fields[7]) if fields[9] != "0" else None
    return None


def _diag_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """sock_diag's answer; OSError when the kernel has no sock_diag for TCP."""
    peer_host, local_host = peer[0].strip("[]"), local[0].strip("[]")
    if ":" in peer_host:
        queries = [(socket.AF_INET6, peer_host, local_host)]
    else:
        queries = [(socket.AF_INET, peer_host, local_host),
                   (socket.AF_INET6, f"::ffff:{peer_host}", f"::ffff:{local_host}")]  # fmt: skip
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as link:
        for family, source, destination in queries:
            sockid = struct.pack("!HH", peer[1], local[1])
            sockid += _raw(family, source) + _raw(family, destination) + struct.pack("=III", 0, *_NO_COOKIE)
            request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + sockid
            link.send(struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0) + request)
            answer = link.recv(8192)
            message_type = struct.unpack_from("=H", answer, 4)[0]
            if message_type == _NLMSG_ERROR:
                code = -struct.unpack_from("=i", answer, 16)[0]
                if code == errno.ENOENT:
                    continue
                raise OSError(code, "sock_diag refused the lookup")
            uid, inode = struct.unpack_from("=II", answer, 16 + 4 + 48 + 12)
            return uid if inode else None
    return None


def _raw(family: int, host: str) -> bytes:
    return socket.inet_pton(family, host).ljust(16, b"\0")


def listener_inode(host: str, port: int) -> int | None:
    """The inode of the socket listening on `host:port`, if any."""
    for table, key, _ in _keys((host, port), (host, port)):
        for line in _lines(table):
            fields = line.split()
            if len(fields) > 9 and fields[1] == key and fields[3] == _LISTEN:
                return int(fields[9])
    return None


def _keys(peer: tuple[str, int], local: tuple[str, int]) -> list[tuple[Path, str, str]]:
    """Where to look and what to look for: an IPv4 peer may also be an IPv6
    socket speaking v4-mapped addresses."""
    peer_host, local_host = peer[0].strip("[]"), local[0].strip("[]")
    if ":" in peer_host:
        return [(TABLES[1], _v6(peer_host, peer[1]), _v6(local_host, local[1]))]
    v4 = (TABLES[0], _v4(peer_host, peer[1]), _v4(local_host, local[1]))
    mapped = (TABLES[1], _v6(f"::ffff:{peer_host}", peer[1]), _v6(f"::ffff:{local_host}", local[1]))
    return [v4, mapped]


def _v4(host: str, port: int) -> str:
    (word,) = struct.unpack("=I", socket.inet_pton(socket.AF_INET, host))
    return f"{word:08X}:{port:04X}"


def _v6(host: str, port: int) -> str:
    words = struct.unpack("=4I", socket.inet_pton(socket.AF_INET6, host))
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def _find(table: Path, needle: str) -> str | None:
    try:
        text = table.read_text()
    except OSError:
        return None
    at = text.find(needle)
    if at < 0:
        return None
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return text[start : end if end >= 0 else len(text)]


def _lines(table: Path) -> list[str]:
    try:
        return table.read_text().splitlines()[1:]
    except OSError:
        return []

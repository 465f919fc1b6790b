"""The model servers behind the local server serve only its owner too: another user
cannot reach one directly, past the server's own check of who is connecting."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.server_harness import ServerProcess, clients, deploy, invoke_label, model_servers, model_tar
from tests.local.server_access_test import NOBODY, SYSTEM_PYTHON, needs_root

pytestmark = pytest.mark.timeout(120)

#: Run as nobody: /ping and invoke each model server listener given, directly.
PROBE = r"""
import http.client, json, socket, sys
class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(self.path)
answers = {}
for target in sys.argv[1:]:
    kind, _, where = target.partition(":")
    for method, path, body in (("GET", "/ping", None), ("POST", "/invocations", b"1")):
        connection = (UnixConnection(where) if kind == "unix"
                      else http.client.HTTPConnection("127.0.0.1", int(where), timeout=10))
        try:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = f"{response.status} {response.read().decode(errors='replace')}"
        except OSError as exc:
            answer = type(exc).__name__
        finally:
            connection.close()
        answers[f"{target} {method} {path}"] = answer
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ServerProcess, Path]]:
    """A server with endpoint `owned`, its home where nobody can walk up to the
    instances (as under a usual 0755 home directory)."""
    base = Path(tempfile.mkdtemp(prefix="smstate-model-access-", dir="/tmp"))
    os.chmod(base, 0o755)
    server = ServerProcess(base / "home")
    try:
        server.start()
        sm, _ = clients(server.url)
        deploy(sm, "owned", model_tar(base, "owned"))
        yield server, base / "home"
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _tcp_listeners(inodes: set[int]) -> list[int]:
    """Ports of the listening TCP sockets among `inodes`."""
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[9]) in inodes:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@needs_root
def test_another_user_cannot_reach_a_model_server_directly(served: tuple[ServerProcess, Path]) -> None:
    server, home = served
    assert server.process is not None
    found = model_servers(server.process.pid)
    assert len(found) == 1
    inodes = set().union(*(_socket_inodes(pid) for pid in found))
    tcp = _tcp_listeners(inodes)
    unix = [path for path in home.rglob("*") if path.is_socket()]
    targets = [f"tcp:{port}" for port in tcp] + [f"unix:{path}" for path in unix]
    assert targets  # the model server listens somewhere

    probe = subprocess.run([*NOBODY, SYSTEM_PYTHON, "-c", PROBE, *targets],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    answers = json.loads(probe.stdout)
    assert len(answers) == 2 * len(targets)
    assert set(answers.values()) == {"PermissionError"}, answers
    assert tcp == []  # nothing on loopback for any user to connect to
    assert [path.name for path in unix] == ["container-1.sock"]
    assert oct(unix[0].parent.stat().st_mode & 0o777) == "0o700"
    assert oct(unix[0].parent.parent.stat().st_mode & 0o777) == "0o755"  # refused only at the socket's directory

    _, rt = clients(server.url)
    assert invoke_label(rt, "owned") == "owned"  # the owner, through the gateway


@needs_root
def test_the_owner_reaches_the_model_server_socket(served: tuple[ServerProcess, Path]) -> None:
    """The socket is the owner's: the gateway's path to the model works (as root here)."""
    _, home = served
    (path,) = [p for p in home.rglob("*") if p.is_socket()]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")

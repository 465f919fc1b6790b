"""The local server's front door: only its owner is served, on every route;
bad bodies and idle or slow sockets cannot take it down."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.local import connections, peers
from providers.local.server import ServerError, front_door
from tests.local.server_harness import ServerProcess, clients, deploy, model_tar

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by nobody, unlike a venv under /root

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="acting as another user needs root and setpriv",
)

#: A stdlib-only client, run as nobody: each request on its own connection.
INTRUDER = r"""
import http.client, json, sys
port, archive = int(sys.argv[1]), sys.argv[2]
answers = []
def call(method, path, body, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    answers.append({"status": response.status, "type": response.getheader("x-amzn-ErrorType"),
                    "body": response.read().decode()})
    connection.close()
def control(operation, params):
    call("POST", "/", json.dumps(params),
         {"X-Amz-Target": "SageMaker." + operation, "Content-Type": "application/x-amz-json-1.1"})
control("CreateModel", {"ModelName": "intruder", "ExecutionRoleArn": "arn:aws:iam::000000000000:role/x",
        "PrimaryContainer": {"Image": "local/x", "ModelDataUrl": "file://" + archive}})
control("DescribeModel", {"ModelName": "owned"})
control("ListModels", {})
call("POST", "/endpoints/owned/invocations", b"1", {"Content-Type": "application/json"})
call("GET", "/ping", None, {})
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with one endpoint, `owned`, whose model holds a secret."""
    base = tmp_path_factory.mktemp("access")
    server = ServerProcess(base / "home").start()
    sm, _ = clients(server.url)
    deploy(sm, "owned", model_tar(base, "owned"))
    sm.delete_model(ModelName="owned")
    sm.create_model(
        ModelName="owned",
        PrimaryContainer={"Image": "local/echo", "ModelDataUrl": str(model_tar(base, "owned")),
                          "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "API_KEY": "Hunter2-secret"}},
        ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
    )  # fmt: skip
    yield server
    server.close()


@needs_root
def test_another_user_is_refused_on_every_route(owned: ServerProcess, tmp_path: Path) -> None:
    archive = model_tar(Path("/tmp") / f"smstate-intruder-{os.getpid()}", "intruder")
    try:
        os.chmod(archive.parent, 0o755)
        os.chmod(archive, 0o644)
        result = subprocess.run(
            [*NOBODY, SYSTEM_PYTHON, "-c", INTRUDER, str(owned.port), str(archive)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        shutil.rmtree(archive.parent, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert len(answers) == 5
    for answer in answers:
        assert answer["status"] == 403
        assert answer["type"] == "AccessDeniedException"
        body = json.loads(answer["body"])
        assert body["__type"] == "AccessDeniedException"
        assert "serves only the user who started it" in body["message"]
        assert "Hunter2" not in answer["body"]

    sm, rt = clients(owned.url)
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["owned"]
    assert sm.describe_model(ModelName="owned")["PrimaryContainer"]["Environment"]["API_KEY"] == "Hunter2-secret"
    response = rt.invoke_endpoint(EndpointName="owned", Body=b"1", ContentType="application/json")
    assert json.loads(response["Body"].read())["label"] == "owned"
    assert owned.log().count("refused a connection from uid 65534") == 1  # logged, but not once per request


@needs_root
def test_curl_as_another_user_is_refused_and_as_the_owner_works(owned: ServerProcess) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    command = ["curl", "-sS", "-i", "-H", "X-Amz-Target: SageMaker.ListModels",
               "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}", owned.url + "/"]  # fmt: skip
    refused = subprocess.run([*NOBODY, *command], capture_output=True, text=True, timeout=30)
    assert refused.stdout.startswith("HTTP/1.1 403"), refused.stdout + refused.stderr
    assert '"__type": "AccessDeniedException"' in refused.stdout
    served = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert served.stdout.startswith("HTTP/1.1 200"), served.stdout + served.stderr
    assert '"ModelName": "owned"' in served.stdout


def test_peer_uid_from_the_text_tables_when_sock_diag_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sock_diag(*_: Any) -> int | None:
        raise OSError("no sock_diag")

    monkeypatch.setattr(peers, "_diag_uid", no_sock_diag)
    peers.check_available()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()):
            accepted, address = listener.accept()
            with accepted:
                assert peers.peer_uid(address, accepted.getsockname()) == os.geteuid()


def test_the_server_will_not_start_when_users_cannot_be_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "peer_uid", lambda *_: None)
    with pytest.raises(ServerError, match="cannot tell which user a loopback connection belongs to"):
        front_door()


def _post(port: int, path: str, body: bytes, target: str | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


def test_deeply_nested_bodies_get_aws_errors(owned: ServerProcess) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 100_000, b"[" * 500 + b"]" * 500,
                 b'{"ModelName": "x", "Tags": ' + b"[" * 40 + b"]" * 40 + b"}"):  # fmt: skip
        status, headers, payload = _post(owned.port, "/", body, "SageMaker.DescribeModel")
        assert status == 400
        assert headers["x-amzn-errortype"] == "SerializationException"
        assert json.loads(payload)["__type"] == "SerializationException"
    status, _, payload = _post(owned.port, "/", b'{"MaxResults": NaN}', "SageMaker.ListModels")
    assert (status, json.loads(payload)["__type"]) == (400, "SerializationException")
    status, _, payload = _post(owned.port, "/", b'{"ModelName": "x", "Tags": [[[]]]}', "SageMaker.DescribeModel")
    assert (status, json.loads(payload)["__type"]) == (400, "ValidationException")

    status, headers, payload = _post(owned.port, "/endpoints/owned/invocations", b"[" * 100_000)
    assert status == 424 and headers["x-amzn-errortype"] == "ModelError"
    assert json.loads(payload)["message"]
    sm, _ = clients(owned.url)
    assert sm.describe_model(ModelName="owned")["ModelName"] == "owned"


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed `sock` (it reads end of stream or a reset)."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_idle_and_slow_sockets_are_reaped_and_the_control_plane_answers(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))  # the server raises it again
    try:
        server = ServerProcess(tmp_path / "home", SMSTATE_LOCAL_REQUEST_TIMEOUT="1", SMSTATE_LOCAL_KEEP_ALIVE="2",
                               SMSTATE_LOCAL_MAX_CONNECTIONS="100").start()  # fmt: skip
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert server.process is not None
    sockets: list[socket.socket] = []
    try:
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        assert [line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files")] == [
            [str(hard), str(hard)]
        ]
        for n in range(250):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if n >= 200:  # a request that never finishes its headers
                sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: SageMaker.ListModels\r\n")
            sockets.append(sock)
        sm, _ = clients(server.url)
        assert sm.list_models()["Models"] == []  # answered while 250 sockets are held
        with urllib.request.urlopen(server.url + "/ping", timeout=10) as response:
            assert json.loads(response.read())["status"] == "Healthy"
        assert _open_fds(server.process.pid) < 100 + 64  # capped, not one fd per socket

        kept = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        kept.request("GET", "/ping")
        assert kept.getresponse().read()
        assert kept.sock is not None
        sockets.append(kept.sock)  # now idle on keep-alive

        deadline = time.monotonic() + 20
        for sock in sockets:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            assert _closed_by_server(sock)
    finally:
        for sock in sockets:
            sock.close()
        server.close()


def test_endless_headers_end_the_connection(owned: ServerProcess) -> None:
    """httptools sets no bound on headers; the server does, well before its request timeout."""
    with socket.create_connection(("127.0.0.1", owned.port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # the server may hang up while we are still sending
            sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\n" + b"X-Padding: " + b"a" * 200_000 + b"\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # a reset: it closed with our bytes unread
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    with urllib.request.urlopen(owned.url + "/ping", timeout=10) as response:
        assert json.loads(response.read())["status"] == "Healthy"


#: Run as nobody: hold idle connections until told to stop.
FLOOD = r"""
import socket, sys
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
print("holding", flush=True)
sys.stdin.read()
"""


@needs_root
def test_a_flood_from_another_user_evicts_its_own_connections_first(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home", SMSTATE_LOCAL_MAX_CONNECTIONS="100").start()
    try:
        owner = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        owner.request("GET", "/ping")
        assert owner.getresponse().read()
        first_socket = owner.sock
        flood = subprocess.Popen([*NOBODY, SYSTEM_PYTHON, "-c", FLOOD, str(server.port), "150"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert flood.stdout is not None and flood.stdout.readline() == "holding\n"
            with urllib.request.urlopen(server.url + "/ping", timeout=10):
                pass  # accepted after the whole flood (the accept queue is FIFO)
            owner.request("GET", "/ping")  # the owner's idle connection, older than the flood, survived it
            assert json.loads(owner.getresponse().read())["status"] == "Healthy"
            assert owner.sock is first_socket
        finally:
            flood.communicate("", timeout=30)
        owner.close()
    finally:
        server.close()


def test_a_failing_lookup_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> int | None:
        raise struct.error("short answer")

    guard = connections.Guard(owner=os.geteuid(), request_timeout=1.0, max_connections=10)
    assert guard.refusal(("127.0.0.1", 50000), ("127.0.0.1", 8765)) is not None  # no such connection
    monkeypatch.setattr(connections, "peer_uid", broken)
    assert guard.refusal(("127.0.0.1", 50000), ("127.0.0.1", 8765)) is not None
    monkeypatch.setattr(connections, "peer_uid", lambda *_: os.geteuid())
    assert guard.refusal(("127.0.0.1", 50000), ("127.0.0.1", 8765)) is None

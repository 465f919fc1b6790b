"""The model server process: the inference toolkit's handler contract over HTTP."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from providers.local.hosting.private_socket import PrivateSocket
from providers.local.hosting.runtime import MODEL_SERVER, loopback_listener

pytestmark = pytest.mark.timeout(120)

SERVERS = ["uvicorn", "stdlib"]
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def write_model(root: Path, source: str, program: str = "inference.py") -> Path:
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / program).write_text(textwrap.dedent(source))
    return root


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.log = log

    def post(self, body: bytes, **headers: str) -> httpx.Response:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        return httpx.post(f"{self.url}/invocations", content=body, headers=headers, timeout=10)


@contextlib.contextmanager
def model_server(
    model_dir: Path, *args: str, env: dict[str, str] | None = None, python: list[str] | None = None
) -> Iterator[Server]:
    """Run model_server.py as the process runtime does and wait for /ping."""
    listener = loopback_listener()
    log = model_dir.parent / f"{model_dir.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*(python or [sys.executable]), str(MODEL_SERVER), "--model-dir", str(model_dir),
             "--fd", str(listener.fileno()), *args],
            pass_fds=(listener.fileno(),), stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(process, listener.getsockname()[1], log)
    listener.close()
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/ping", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        process.wait(10)


def failed_start(model_dir: Path, **env: str) -> str:
    """Run a server that must fail to load; return its last output line."""
    process = subprocess.run(
        [sys.executable, str(MODEL_SERVER), "--model-dir", str(model_dir), "--port", "0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )
    assert process.returncode == 1
    return process.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("server", SERVERS)
def test_quickstart_model_answers_json_csv_and_npy(quickstart_model: Path, server: str) -> None:
    with model_server(quickstart_model / "model", "--server", server) as srv:
        assert httpx.get(f"{srv.url}/ping").status_code == 200
        as_json = srv.post(json.dumps({"instances": IRIS_ROWS}).encode(), content_type="application/json")
        as_csv = srv.post(b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", content_type="text/csv")
        buffer = io.BytesIO()
        np.save(buffer, np.array(IRIS_ROWS))
        as_npy = srv.post(buffer.getvalue(), content_type="application/x-npy", accept="application/json")
    for response in (as_json, as_csv, as_npy):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"predictions": ["setosa", "virginica"]}


DOUBLER = """
class Doubler:
    def predict(self, rows):
        return [[value * 2 for value in row] for row in rows]

def model_fn(model_dir):
    return Doubler()
"""


@pytest.mark.parametrize("server", SERVERS)
def test_default_codecs_follow_content_type_and_accept(tmp_path: Path, server: str) -> None:
    with model_server(write_model(tmp_path / "m", DOUBLER), "--server", server) as srv:
        same = srv.post(b"[[1, 2], [3, 4]]", content_type="application/json", accept="*/*")
        to_csv = srv.post(b"[[1, 2]]", content_type="application/json", accept="text/csv")
        from_csv = srv.post(b"1,2\n3,4\n", content_type="text/csv")
        buffer = io.BytesIO()
        np.save(buffer, np.array([[1.5, 2.5]]))
        npy = srv.post(buffer.getvalue(), content_type="application/x-npy")
        bad_type = srv.post(b"<a/>", content_type="application/xml")
        bad_accept = srv.post(b"[[1]]", content_type="application/json", accept="application/xml")
    assert same.status_code == 200 and same.json() == [[2, 4], [6, 8]]
    assert same.headers["content-type"] == "application/json"
    assert to_csv.text == "2,4\n" and to_csv.headers["content-type"] == "text/csv"
    assert from_csv.text == "2.0,4.0\n6.0,8.0\n"
    assert np.load(io.BytesIO(npy.content)).tolist() == [[3.0, 5.0]]
    assert bad_type.status_code == 415 and "application/xml" in bad_type.text
    assert bad_accept.status_code == 415


def test_stdlib_only_python_serves_json_and_refuses_npy(tmp_path: Path) -> None:
    """``python -S`` hides site-packages: no uvicorn, no numpy, as in a bare image."""
    with model_server(write_model(tmp_path / "m", DOUBLER), python=[sys.executable, "-S"]) as srv:
        as_json = srv.post(b"[[1, 2]]", content_type="application/json")
        as_csv = srv.post(b"1,2\n", content_type="text/csv")
        npy = srv.post(b"\x93NUMPY", content_type="application/x-npy")
    assert as_json.json() == [[2, 4]]
    assert as_csv.text == "2.0,4.0\n"
    assert npy.status_code == 415 and "numpy" in npy.text


def test_transform_fn_gets_the_raw_request(tmp_path: Path) -> None:
    source = """
    import json
    def model_fn(model_dir):
        return "the-model"
    def transform_fn(model, body, content_type, accept):
        return json.dumps([model, body.decode(), content_type, accept]), "application/vnd.test"
    """
    with model_server(write_model(tmp_path / "m", source)) as srv:
        response = srv.post(b"hello", content_type="text/plain")
    assert response.json() == ["the-model", "hello", "text/plain", "text/plain"]
    assert response.headers["content-type"] == "application/vnd.test"


def test_custom_attributes_reach_handlers_and_come_back(tmp_path: Path) -> None:
    source = """
    def model_fn(model_dir):
        return None
    def transform_fn(model, body, content_type, accept, context):
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "seen=" + context.custom_attributes)
        return b"ok"
    """
    with model_server(write_model(tmp_path / "m", source)) as srv:
        response = srv.post(b"x", x_amzn_sagemaker_custom_attributes="trace=7")
    assert response.headers["x-amzn-sagemaker-custom-attributes"] == "seen=trace=7"


def test_errors_in_user_code_are_500_with_the_message(tmp_path: Path) -> None:
    source = DOUBLER + "\ndef predict_fn(data, model):\n    raise ValueError('rows must have 4 features')\n"
    with model_server(write_model(tmp_path / "m", source)) as srv:
        response = srv.post(b"[[1]]", content_type="application/json")
        assert httpx.get(f"{srv.url}/ping").status_code == 200
    assert response.status_code == 500
    assert response.text == "ValueError: rows must have 4 features"


def test_sagemaker_program_names_the_entry_point(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m", DOUBLER, program="serve_me.py")
    with model_server(model, env={"SAGEMAKER_PROGRAM": "serve_me.py"}) as srv:
        assert srv.post(b"[[1]]", content_type="application/json").json() == [[2]]


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ("def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n", {},
         "failed to load the model: RuntimeError: weights are corrupt"),
        ("def predict_fn(data, model):\n    return data\n", {}, "no model_fn defined in"),
        (DOUBLER, {"SAGEMAKER_PROGRAM": "missing.py"}, "SAGEMAKER_PROGRAM=missing.py not found"),
        (DOUBLER + "\ndef transform_fn(m, b, c, a):\n    return b\ndef input_fn(b, c):\n    return b\n", {},
         "transform_fn cannot be combined"),
    ],
    ids=["model_fn-raises", "no-model_fn", "missing-program", "transform_fn-and-input_fn"],
)
def test_load_failures_exit_1_with_a_one_line_reason(
    tmp_path: Path, source: str, env: dict[str, str], expected: str
) -> None:
    assert expected in failed_start(write_model(tmp_path / "m", source), **env)


def _server_side_nodelay(pid: int, client: socket.socket) -> int:
    """TCP_NODELAY of the server's end of ``client``, read from a duplicate of its fd.

    ``pidfd_getfd`` (Linux 5.6+) duplicates the server's descriptor into this process;
    the duplicate shares the socket, so getsockopt reads the server's own setting.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
            if fd < 0:
                code = ctypes.get_errno()
                if code in (errno.EPERM, errno.ENOSYS, errno.EACCES):
                    pytest.skip(f"pidfd_getfd is not permitted here: {os.strerror(code)}")
                continue
            with socket.socket(fileno=fd) as dup, contextlib.suppress(OSError):
                if dup.getpeername() == client.getsockname():
                    return dup.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        os.close(pidfd)
    raise AssertionError("the server's end of the connection was not found")


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfd_open")
@pytest.mark.parametrize("server", SERVERS)
def test_accepted_sockets_have_tcp_nodelay(tmp_path: Path, server: str) -> None:
    with model_server(write_model(tmp_path / "m", DOUBLER), "--server", server) as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as client:
            client.sendall(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
            assert _server_side_nodelay(srv.process.pid, client) == 1


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_server_exits_when_its_parent_is_gone(tmp_path: Path) -> None:
    """A shell plays the local server: it starts the model server, then dies."""
    model = write_model(tmp_path / "m", DOUBLER)
    listener = loopback_listener()
    script = f'"$0" "$1" --model-dir "$2" --fd {listener.fileno()} --parent-pid $$ >"$3" 2>&1 & echo $!; wait'
    shell = subprocess.Popen(
        ["sh", "-c", script, sys.executable, str(MODEL_SERVER), str(model), str(tmp_path / "server.log")],
        stdout=subprocess.PIPE, pass_fds=(listener.fileno(),),
    )
    listener.close()
    assert shell.stdout is not None
    pid = int(shell.stdout.readline())
    try:
        time.sleep(1.5)
        assert _running(pid)
        shell.kill()
        shell.wait()
        deadline = time.monotonic() + 10
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


@pytest.mark.parametrize("server", SERVERS)
def test_both_servers_serve_keep_alive_on_a_private_unix_socket(tmp_path: Path, server: str) -> None:
    """How the process runtime runs them: on a Unix socket in a 0700 directory."""
    address = PrivateSocket(tmp_path / "sockets", "container-1.sock")
    listener = address.listen()
    process = subprocess.Popen(
        [sys.executable, str(MODEL_SERVER), "--model-dir", str(write_model(tmp_path / "m", DOUBLER)),
         "--fd", str(listener.fileno()), "--server", server],
        pass_fds=(listener.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    listener.close()
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=address.address), timeout=30) as client:
            assert client.get("http://model/ping").status_code == 200
            first = client.post("http://model/invocations", content=b"[[1, 2]]",
                                headers={"Content-Type": "application/json"})  # fmt: skip
            second = client.post("http://model/invocations", content=b"[[3]]",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
        assert (first.status_code, first.json()) == (200, [[2, 4]])
        assert (second.status_code, second.json()) == (200, [[6]])
        assert first.headers.get("connection", "").lower() != "close"  # kept alive
    finally:
        process.terminate()
        process.wait(10)
        address.close()

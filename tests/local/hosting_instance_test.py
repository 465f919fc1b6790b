"""Model instances on the process runtime: start, readiness, invoke, pipelines, stop."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from providers.local.hosting import HostingError, InvokeResult, ModelInstance, start_instance
from providers.local.hosting.client import ContainerClient
from providers.local.hosting.private_socket import MAX_PATH_BYTES, PrivateSocket
from providers.local.hosting.runtime import MODEL_SERVER, loopback_listener

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

QUICKSTART_BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}).encode()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def handler_dir(root: Path, source: str) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "inference.py").write_text(textwrap.dedent(source))
    return root


def model(*urls: str | None, **env: str) -> dict[str, Any]:
    containers = [{"Image": f"image-{i}", "ModelDataUrl": url, "Environment": env} for i, url in enumerate(urls)]
    for container in containers:
        if container["ModelDataUrl"] is None:
            del container["ModelDataUrl"]
    if len(containers) == 1:
        return {"ModelName": "m", "PrimaryContainer": containers[0]}
    return {"ModelName": "m", "Containers": containers}


async def started(spec: dict[str, Any], tmp_path: Path, timeout: float = 30) -> ModelInstance:
    instance = await start_instance(spec, tmp_path / "instance", cache_dir=tmp_path / "cache")
    try:
        await instance.wait_ready(timeout)
    except BaseException:
        await instance.stop()
        raise
    return instance


async def test_quickstart_instance_serves_and_stops(quickstart_model: Path, tmp_path: Path) -> None:
    instance = await started(model(str(quickstart_model / "model.tar.gz")), tmp_path)
    try:
        assert instance.alive and await instance.ping()
        result = await instance.invoke(QUICKSTART_BODY, "application/json", None, None)
        assert result == InvokeResult(200, "application/json", b'{"predictions": ["setosa", "virginica"]}')
        assert (tmp_path / "instance" / "container-1.log").exists()
        pooled = [writer.get_extra_info("socket") for _, writer in instance.containers[0].client._idle]
        # A Unix socket, which has no Nagle algorithm (TCP_NODELAY has nothing to turn off).
        assert pooled and all(s.family == socket.AF_UNIX for s in pooled)
        sockets = tmp_path / "instance" / "sockets"
        assert [p.name for p in sockets.iterdir()] == ["container-1.sock"]
        assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
        assert stat.S_IMODE((sockets / "container-1.sock").stat().st_mode) == 0o600
    finally:
        await instance.stop()
    await instance.stop()
    assert not instance.alive
    assert not await instance.ping()


async def test_instances_of_one_artifact_share_one_extraction(quickstart_model: Path, tmp_path: Path) -> None:
    spec = model(f"file://{quickstart_model / 'model.tar.gz'}")
    instances = [await start_instance(spec, tmp_path / f"i{n}", cache_dir=tmp_path / "cache") for n in range(2)]
    try:
        for instance in instances:
            await instance.wait_ready(30)
    finally:
        for instance in instances:
            await instance.stop()
    extracted = [p.name for p in (tmp_path / "cache" / "models").iterdir()]
    assert len(extracted) == 1 and not extracted[0].startswith(".")


async def test_a_directory_is_used_as_the_model_dir(quickstart_model: Path, tmp_path: Path) -> None:
    instance = await started(model(str(quickstart_model / "model")), tmp_path)
    try:
        result = await instance.invoke(b"5.1,3.5,1.4,0.2", "text/csv", "application/json", None)
    finally:
        await instance.stop()
    assert json.loads(result.body) == {"predictions": ["setosa"]}


async def test_model_fn_failure_is_the_failure_reason(tmp_path: Path) -> None:
    source = "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
    with pytest.raises(HostingError) as caught:
        await started(model(str(handler_dir(tmp_path / "m", source))), tmp_path)
    message = str(caught.value)
    assert "container 1 (image-0) exited with code 1" in message
    assert "RuntimeError: weights are corrupt" in message
    assert "\n" not in message


async def test_a_server_that_never_answers_ping_times_out(tmp_path: Path) -> None:
    source = "import time\ndef model_fn(model_dir):\n    time.sleep(60)\n"
    with pytest.raises(HostingError, match=r"did not answer /ping with 200 within 0.5s"):
        await started(model(str(handler_dir(tmp_path / "m", source))), tmp_path, timeout=0.5)


async def test_predict_fn_failure_is_a_500_result(quickstart_model: Path, tmp_path: Path) -> None:
    source = (quickstart_model / "model" / "code" / "inference.py").read_text()
    source += "\ndef predict_fn(data, model):\n    raise ValueError('expected 4 features')\n"
    root = handler_dir(tmp_path / "m", source)
    (root / "model.joblib").write_bytes((quickstart_model / "model" / "model.joblib").read_bytes())
    instance = await started(model(str(root)), tmp_path)
    try:
        result = await instance.invoke(QUICKSTART_BODY, "application/json", None, None)
    finally:
        await instance.stop()
    assert result.status == 500
    assert result.body == b"ValueError: expected 4 features"


PREPROCESS = """
import json
def model_fn(model_dir):
    return None
def transform_fn(model, body, content_type, accept):
    if content_type != "text/plain":
        return b"preprocess wants text/plain", "text/plain"
    rows = [[float(v) for v in line.split()] for line in body.decode().splitlines()]
    if not rows:
        raise ValueError("no rows")
    return json.dumps({"instances": rows}), "application/json"
"""


async def test_a_pipeline_feeds_each_container_the_previous_response(
    quickstart_model: Path, tmp_path: Path
) -> None:
    preprocess = handler_dir(tmp_path / "pre", PREPROCESS)
    spec = model(str(preprocess), str(quickstart_model / "model.tar.gz"))
    instance = await started(spec, tmp_path)
    try:
        ok = await instance.invoke(b"5.1 3.5 1.4 0.2\n6.7 3.0 5.2 2.3\n", "text/plain", "application/json", "a=1")
        failed = await instance.invoke(b"", "text/plain", None, None)
    finally:
        await instance.stop()
    assert ok == InvokeResult(200, "application/json", b'{"predictions": ["setosa", "virginica"]}')
    assert failed == InvokeResult(500, "text/plain", b"ValueError: no rows")


async def test_a_dead_container_makes_the_instance_unhealthy(quickstart_model: Path, tmp_path: Path) -> None:
    instance = await started(model(str(quickstart_model / "model")), tmp_path)
    try:
        container = instance.containers[0]
        os.kill(container.process.pid, 9)  # type: ignore[attr-defined]
        await container.process.wait()  # type: ignore[attr-defined]
        assert not instance.alive
        assert not await instance.ping()
        with pytest.raises(HostingError, match="container 1 .* is unreachable"):
            await instance.invoke(QUICKSTART_BODY, "application/json", None, None)
    finally:
        await instance.stop()


@pytest.mark.parametrize(
    ("spec", "runtime", "expected"),
    [
        (model("/nonexistent/model.tar.gz"), "process", "model artifact not found: /nonexistent/model.tar.gz"),
        (model("http://example.com/model.tar.gz"), "process", "unsupported model artifact URL"),
        ({"ModelName": "m"}, "process", "has neither PrimaryContainer nor Containers"),
        ({"Containers": [{"Image": "x", "Mode": "MultiModel"}]}, "process", "Mode MultiModel is not supported"),
        (model(None), "kubernetes", "unknown hosting runtime 'kubernetes'"),
    ],
    ids=["missing-artifact", "http-url", "no-container", "multi-model-pipeline", "unknown-runtime"],
)
async def test_models_that_cannot_be_hosted_are_refused(
    spec: dict[str, Any], runtime: str, expected: str, tmp_path: Path
) -> None:
    with pytest.raises(HostingError, match=expected.replace("(", r"\(")):
        await start_instance(spec, tmp_path / "instance", runtime, cache_dir=tmp_path / "cache")


async def test_a_socket_path_too_long_for_sun_path_still_serves(quickstart_model: Path, tmp_path: Path) -> None:
    workdir = tmp_path / ("e" * 63) / ("v" * 63 + "-1")  # an endpoint's and a variant's longest names
    assert len(os.fsencode(workdir / "sockets" / "container-1.sock")) > MAX_PATH_BYTES
    instance = await start_instance(model(str(quickstart_model / "model")), workdir, cache_dir=tmp_path / "cache")
    try:
        await instance.wait_ready(30)
        result = await instance.invoke(b"5.1,3.5,1.4,0.2", "text/csv", "application/json", None)
        assert (workdir / "sockets" / "container-1.sock").is_socket()
    finally:
        await instance.stop()
    assert json.loads(result.body) == {"predictions": ["setosa"]}


async def test_the_pool_sets_tcp_nodelay_on_loopback_connections(tmp_path: Path) -> None:
    """The docker runtime's model servers are reached over loopback TCP."""
    root = handler_dir(tmp_path / "m", "def model_fn(model_dir):\n    return None\n")
    listener = loopback_listener()
    process = subprocess.Popen(
        [sys.executable, str(MODEL_SERVER), "--model-dir", str(root), "--fd", str(listener.fileno())],
        pass_fds=(listener.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = ContainerClient("127.0.0.1", listener.getsockname()[1])
    listener.close()
    try:
        response = await client.request("GET", "/ping", timeout=30)
        pooled = [writer.get_extra_info("socket") for _, writer in client._idle]
        assert response.status == 200
        assert pooled and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in pooled)
    finally:
        await client.close()
        process.terminate()
        process.wait(10)


def test_a_socket_directory_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "sockets").symlink_to(tmp_path / "real")
    with pytest.raises(HostingError, match="is not a directory of this user"):
        PrivateSocket(tmp_path / "sockets", "container-1.sock")
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    address = PrivateSocket(loose, "container-1.sock")
    address.listen().close()
    address.close()
    address.close()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    assert stat.S_IMODE((loose / "container-1.sock").stat().st_mode) == 0o600


def test_a_socket_another_model_server_listens_on_is_never_taken(tmp_path: Path) -> None:
    first = PrivateSocket(tmp_path / "sockets", "container-1.sock")
    listener = first.listen()
    try:
        with pytest.raises(HostingError, match="another model server already listens at"):
            PrivateSocket(tmp_path / "sockets", "container-1.sock").listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(first.path))  # the path still leads to the first server
            accepted, _ = listener.accept()
            accepted.close()
    finally:
        listener.close()
    stale = PrivateSocket(tmp_path / "sockets", "container-1.sock")
    stale.listen().close()  # nobody listens there any more: the stale socket is replaced
    assert (tmp_path / "sockets" / "container-1.sock").is_socket()

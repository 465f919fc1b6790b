"""The docker runtime: ``docker run IMAGE serve`` with the model at /opt/ml/model.

The image is built locally by ``build_serve_image.sh`` (debootstrap, no registry);
the first build downloads Debian packages and takes a few minutes, later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.local.hosting import HostingError, InvokeResult, start_instance
from providers.local.hosting.docker_runtime import LABEL

pytestmark = [pytest.mark.docker, pytest.mark.anyio, pytest.mark.timeout(900)]

BUILD_SCRIPT = Path(__file__).with_name("build_serve_image.sh")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def serve_image(engine: Any) -> str:
    build = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=850,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert build.returncode == 0, build.stderr
    return build.stdout.strip().splitlines()[-1]


def docker_model(image: str, url: str, **env: str) -> dict[str, Any]:
    return {"ModelName": "m", "PrimaryContainer": {"Image": image, "ModelDataUrl": url, "Environment": env}}


async def test_the_quickstart_model_is_served_from_a_container(
    quickstart_model: Path, serve_image: str, engine: Any, tmp_path: Path
) -> None:
    spec = docker_model(serve_image, str(quickstart_model / "model.tar.gz"), SAGEMAKER_PROGRAM="inference.py")
    instance = await start_instance(spec, tmp_path / "instance", "docker", cache_dir=tmp_path / "cache")
    try:
        await instance.wait_ready(60)
        assert instance.alive and await instance.ping()
        body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}).encode()
        as_json = await instance.invoke(body, "application/json", None, None)
        as_csv = await instance.invoke(b"6.7,3.0,5.2,2.3\n", "text/csv", "application/json", None)
        container_id = instance.containers[0].container.id  # type: ignore[attr-defined]
    finally:
        await instance.stop()
    assert as_json == InvokeResult(200, "application/json", b'{"predictions": ["setosa", "virginica"]}')
    assert json.loads(as_csv.body) == {"predictions": ["virginica"]}
    assert not instance.alive
    remaining = [c.id for c in engine.containers.list(all=True, filters={"label": LABEL})]
    assert container_id not in remaining


async def test_a_failing_model_fn_in_a_container_is_the_failure_reason(
    serve_image: str, tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "broken.py").write_text(textwrap.dedent("""
        def model_fn(model_dir):
            raise RuntimeError("cannot open " + model_dir + "/weights.bin")
    """))
    spec = docker_model(serve_image, str(model_dir), SAGEMAKER_PROGRAM="broken.py")
    instance = await start_instance(spec, tmp_path / "instance", "docker", cache_dir=tmp_path / "cache")
    try:
        with pytest.raises(HostingError) as caught:
            await instance.wait_ready(60)
    finally:
        await instance.stop()
    assert "exited with code 1" in str(caught.value)
    assert "RuntimeError: cannot open /opt/ml/model/weights.bin" in str(caught.value)


async def test_an_image_docker_cannot_run_is_refused(engine: Any, tmp_path: Path) -> None:
    """An invalid reference fails in the engine before any registry is asked."""
    spec = docker_model("smstate-test/Not-A-Valid-Reference", str(tmp_path))
    with pytest.raises(HostingError, match="docker could not run smstate-test/Not-A-Valid-Reference"):
        await start_instance(spec, tmp_path / "instance", "docker", cache_dir=tmp_path / "cache")


async def test_a_container_gets_its_environment_and_its_instance_memory_only(
    serve_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSTATE_VAR_token", "hunter2-var")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2-aws")
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent("""
        import os

        def model_fn(model_dir):
            return None

        def predict_fn(data, model):
            return dict(os.environ)
    """))
    spec = docker_model(serve_image, str(model_dir), SAGEMAKER_PROGRAM="inference.py", MODEL_SETTING="mine")
    memory = 4 * 1024**3
    instance = await start_instance(spec, tmp_path / "instance", "docker", cache_dir=tmp_path / "cache", memory=memory)
    try:
        await instance.wait_ready(60)
        result = await instance.invoke(b"1", "application/json", None, None)
        attrs = instance.containers[0].container.attrs  # type: ignore[attr-defined]
    finally:
        await instance.stop()
    env = json.loads(result.body)
    assert env["MODEL_SETTING"] == "mine"
    assert not [k for k in env if k.startswith(("SMSTATE_", "AWS_"))]
    assert attrs["HostConfig"]["Memory"] == memory and attrs["HostConfig"]["MemorySwap"] == memory

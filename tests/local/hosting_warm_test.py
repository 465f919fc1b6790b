"""Model servers forked from the warm parent: who their parent is, when they start fresh
instead, and what happens when the warm parent dies."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.local.server_harness import ServerProcess, children, clients, model_tar, model_servers, wait_in_service

pytestmark = pytest.mark.timeout(180)

PATH_CODE = '''
import os, sys

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return {"label": str(os.getpid()), "path": sys.path, "ppid": os.getppid()}
'''


def deploy(sm: Any, name: str, tar: Path, **env: str) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::000000000000:role/local", PrimaryContainer={
        "Image": "local/echo", "ModelDataUrl": str(tar), "Environment": {"SAGEMAKER_PROGRAM": "inference.py", **env}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def ask(rt: Any, name: str) -> dict[str, Any]:
    body = rt.invoke_endpoint(EndpointName=name, Body=b"1", ContentType="application/json")["Body"].read()
    return dict(json.loads(body))


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def warm_parents(server: ServerProcess) -> set[int]:
    assert server.process is not None
    return {pid for pid in children(server.process.pid) if "fork_server.py" in cmdline(pid)}


@pytest.fixture
def server(tmp_path: Path) -> Any:
    process = ServerProcess(tmp_path / "home").start()
    yield process
    process.close()


def test_a_model_server_is_forked_from_the_warm_parent(server: ServerProcess, tmp_path: Path) -> None:
    sm, rt = clients(server.url)
    deploy(sm, "warm", model_tar(tmp_path, "warm", PATH_CODE))
    answer = ask(rt, "warm")
    assert [answer["ppid"]] == list(warm_parents(server))
    assert model_servers(server.process.pid) == {int(answer["label"])}  # type: ignore[union-attr]
    assert os.getsid(int(answer["label"])) == int(answer["label"])


def test_a_model_setting_pythonpath_starts_fresh_with_it(server: ServerProcess, tmp_path: Path) -> None:
    extra = tmp_path / "extra-modules"
    extra.mkdir()
    sm, rt = clients(server.url)
    deploy(sm, "fresh", model_tar(tmp_path, "fresh", PATH_CODE), PYTHONPATH=str(extra))
    answer = ask(rt, "fresh")
    assert answer["ppid"] == server.process.pid  # type: ignore[union-attr]
    assert str(extra) in answer["path"]


def test_when_the_warm_parent_dies_its_model_servers_are_replaced(server: ServerProcess, tmp_path: Path) -> None:
    sm, rt = clients(server.url)
    deploy(sm, "orphan", model_tar(tmp_path, "orphan", PATH_CODE))
    before = int(ask(rt, "orphan")["label"])
    (parent,) = warm_parents(server)
    os.kill(parent, signal.SIGKILL)
    deadline = time.monotonic() + 60
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            after = int(ask(rt, "orphan")["label"])
        except Exception:  # noqa: BLE001 - the endpoint may have no live instance for a moment
            continue
    assert after != before
    assert not Path(f"/proc/{before}").exists() or "Z" in Path(f"/proc/{before}/stat").read_text().split()[2]
    assert sm.describe_endpoint(EndpointName="orphan")["EndpointStatus"] == "InService"

"""What a model cannot do to the local server, and how the server repairs a fleet:
models see only their own environment, cannot stop the server with a signal, are
bounded by their instance type's memory, and an instance that dies is replaced."""

from __future__ import annotations

import json
import os
import pwd
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.local.server_harness import (
    ServerProcess,
    model_servers,
    clients,
    model_tar,
    wait_in_service,
)

pytestmark = pytest.mark.timeout(120)

ENV_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return {"label": "env", "env": dict(os.environ)}
'''

#: Signals its parent (the warm parent it was forked from) and the local server, whose pid
#: the request gives ("parent:PID"), from the model, then from a child of the model ("child:PID").
SIGNALLING_CODE = '''
import os, signal, subprocess

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    how, _, server = str(data).partition(":")
    targets = (os.getppid(), int(server)) if server else ()
    if how == "parent":
        for target in targets:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                os.kill(target, signum)
    elif how == "child":
        subprocess.Popen(["sh", "-c", " ; ".join(f"kill -TERM {t}" for t in targets) + "; sleep 2"])
    return {"label": str(os.getpid())}
'''

#: Allocates more than an ml.t2.medium has when asked to.
HUNGRY_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    if data == "allocate":
        hoard = bytearray(6 * 1024**3)
        return {"label": str(len(hoard))}
    return {"label": str(os.getpid())}
'''

#: Exits in the middle of a request when asked to.
EXITING_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    if data == "exit":
        os._exit(3)
    return {"label": str(os.getpid())}
'''

#: Starts slowly once the file named by SLOW_MARK exists, so a replacement can be watched.
SLOW_RESTART_CODE = '''
import os, time

def model_fn(model_dir):
    if os.path.exists(os.environ["SLOW_MARK"]):
        time.sleep(3)
    return None

def predict_fn(data, model):
    return {"label": str(os.getpid())}
'''


def deploy_typed(sm: Any, name: str, tar: Path, instance_type: str, count: int = 1, **env: str) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "local/echo", "ModelDataUrl": str(tar), "Environment": env},
        ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
    )
    variant = {"VariantName": "primary", "ModelName": name, "InstanceType": instance_type, "InitialInstanceCount": count}
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def invoke(rt: Any, endpoint: str, payload: Any) -> dict[str, Any]:
    response = rt.invoke_endpoint(EndpointName=endpoint, Body=json.dumps(payload), ContentType="application/json")
    return dict(json.loads(response["Body"].read()))


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout}s")


def variant(sm: Any, endpoint: str) -> dict[str, Any]:
    return dict(sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0])


def test_model_sees_its_environment_and_nothing_of_the_server(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "home",
        SMSTATE_VAR_token="hunter2-var",
        AWS_SECRET_ACCESS_KEY="hunter2-aws",
        AWS_ACCESS_KEY_ID="AKIAHUNTER2",
        UNRELATED_SETTING="server-only",
    ).start()
    try:
        sm, rt = clients(server.url)
        tar = model_tar(tmp_path, "env", ENV_CODE)
        deploy_typed(sm, "env", tar, "ml.m5.large", SAGEMAKER_PROGRAM="inference.py", MODEL_SETTING="mine")
        env = invoke(rt, "env", 1)["env"]
    finally:
        server.close()
    assert env["MODEL_SETTING"] == "mine" and env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["HOME"] == pwd.getpwuid(os.getuid()).pw_dir and env["PATH"]
    assert not [k for k in env if k.startswith(("SMSTATE_", "AWS_"))], sorted(env)
    assert "UNRELATED_SETTING" not in env
    assert not [k for k, v in env.items() if "hunter2" in v]


def test_a_model_signalling_the_server_leaves_it_serving(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        assert server.process is not None
        sm, rt = clients(server.url)
        deploy_typed(sm, "rogue", model_tar(tmp_path, "rogue", SIGNALLING_CODE), "ml.m5.large")
        model_pid = int(invoke(rt, "rogue", f"parent:{server.process.pid}")["label"])
        invoke(rt, "rogue", f"child:{server.process.pid}")
        time.sleep(1.0)  # time for a signal to stop the server, if it could
        assert server.process.poll() is None, server.log()
        assert int(invoke(rt, "rogue", 1)["label"]) == model_pid
        assert "ignored SIGTERM sent by model server process" in server.log()
        assert os.getsid(model_pid) == model_pid != os.getsid(server.process.pid)
        sm.update_endpoint_weights_and_capacities(
            EndpointName="rogue", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}]
        )
        # the warm parent it signalled still forks new instances
        wait_for(lambda: len(model_servers(server.process.pid)) == 2)
    finally:
        server.close()
    assert server.process.returncode == 0  # while SIGTERM from outside still stops it


def test_a_model_over_its_memory_dies_and_is_replaced(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy_typed(sm, "hungry", model_tar(tmp_path, "hungry", HUNGRY_CODE), "ml.t2.medium")
        first = int(invoke(rt, "hungry", 1)["label"])
        with pytest.raises(rt.exceptions.ModelError):
            invoke(rt, "hungry", "allocate")
        second = wait_for(lambda: int(invoke(rt, "hungry", 1)["label"]))
        assert second != first
        assert sm.describe_endpoint(EndpointName="hungry")["EndpointStatus"] == "InService"
        assert "out of memory: the model needed more than 4096 MiB" in server.log()
    finally:
        server.close()


def test_a_killed_instance_is_replaced_while_the_others_serve(tmp_path: Path) -> None:
    mark = tmp_path / "slow-mark"
    server = ServerProcess(tmp_path / "home").start()
    try:
        assert server.process is not None
        sm, rt = clients(server.url)
        tar = model_tar(tmp_path, "fleet", SLOW_RESTART_CODE)
        deploy_typed(sm, "fleet", tar, "ml.m5.large", count=2, SLOW_MARK=str(mark))
        pids = {int(invoke(rt, "fleet", 1)["label"]) for _ in range(6)}
        assert pids == model_servers(server.process.pid) and len(pids) == 2
        mark.touch()
        victim = pids.pop()
        os.kill(victim, signal.SIGKILL)

        repairing = wait_for(lambda: (v := variant(sm, "fleet"))["CurrentInstanceCount"] == 1 and v)
        assert repairing["DesiredInstanceCount"] == 2
        assert repairing["VariantStatus"][0]["Status"] == "Updating"
        assert "SIGKILL" in repairing["VariantStatus"][0]["StatusMessage"]
        assert sm.describe_endpoint(EndpointName="fleet")["EndpointStatus"] == "InService"
        assert {int(invoke(rt, "fleet", 1)["label"]) for _ in range(6)} == pids  # only the healthy one serves

        repaired = wait_for(lambda: (v := variant(sm, "fleet"))["CurrentInstanceCount"] == 2 and v)
        assert "VariantStatus" not in repaired
        now = {int(invoke(rt, "fleet", 1)["label"]) for _ in range(6)}
        assert len(now) == 2 and victim not in now and pids < now
    finally:
        server.close()


def test_a_model_that_exits_during_a_request_is_replaced(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy_typed(sm, "lonely", model_tar(tmp_path, "lonely", EXITING_CODE), "ml.c5.large")
        victim = int(invoke(rt, "lonely", 1)["label"])
        with pytest.raises(rt.exceptions.ModelError):
            invoke(rt, "lonely", "exit")
        replacement = wait_for(lambda: int(invoke(rt, "lonely", 1)["label"]))
        assert replacement != victim
        assert variant(sm, "lonely")["CurrentInstanceCount"] == 1
        assert "exited with code 3" in server.log()
    finally:
        server.close()


#: Loads, answers /ping, then dies half a second later.
DYING_CODE = '''
import os, threading

def model_fn(model_dir):
    threading.Timer(0.5, os._exit, (5,)).start()
    return None

def predict_fn(data, model):
    return {"label": "dying"}
'''


def test_an_update_whose_new_instance_dies_while_baking_is_rolled_back(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy_typed(sm, "baked", model_tar(tmp_path / "v1", "v1"), "ml.m5.large")
        sm.create_model(
            ModelName="dying",
            PrimaryContainer={"Image": "local/echo", "ModelDataUrl": str(model_tar(tmp_path / "v2", "dying", DYING_CODE))},
            ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
        )
        variant = {"VariantName": "primary", "ModelName": "dying", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        sm.create_endpoint_config(EndpointConfigName="dying", ProductionVariants=[variant])
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}  # a 3 s bake at the tests' time scale
        config = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}
        sm.update_endpoint(EndpointName="baked", EndpointConfigName="dying", DeploymentConfig=config)
        described = wait_for(lambda: (d := sm.describe_endpoint(EndpointName="baked"))["EndpointStatus"] == "InService" and d)
        assert described["EndpointConfigName"] == "baked"
        assert "failed its health check" in described["FailureReason"]
        assert invoke(rt, "baked", 1)["label"] == "v1"
    finally:
        server.close()


#: Freezes itself (SIGSTOP) when asked: alive, but no longer answering /ping.
FREEZING_CODE = '''
import os, signal, threading

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    if data == "freeze":
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGSTOP)).start()
    return {"label": str(os.getpid())}
'''


def test_an_instance_that_stops_answering_ping_is_replaced(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy_typed(sm, "frozen", model_tar(tmp_path, "frozen", FREEZING_CODE), "ml.m5.large")
        frozen = int(invoke(rt, "frozen", "freeze")["label"])
        # No request is sent meanwhile: one would wait on the frozen instance until it timed out.
        repairing = wait_for(lambda: variant(sm, "frozen").get("VariantStatus"), timeout=60)
        assert "did not answer /ping 3 times in a row" in repairing[0]["StatusMessage"]
        wait_for(lambda: "VariantStatus" not in (v := variant(sm, "frozen")) and v["CurrentInstanceCount"] == 1)
        assert int(invoke(rt, "frozen", 1)["label"]) != frozen
        assert wait_for(lambda: not os.path.exists(f"/proc/{frozen}"))  # the frozen one was killed
    finally:
        server.close()

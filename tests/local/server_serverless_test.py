"""Serverless variants on the local target, through boto3: MaxConcurrency enforced
(the request past it gets a ThrottlingException), a cold start after idle (scale to
zero), provisioned concurrency kept warm, the memory size recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import cli_env, run_cli
from tests.local.server_harness import ServerProcess, clients, create_model, model_servers, model_tar, wait_in_service

#: Idle time here: 300 s x 0.005 = 1.5 s.
TIME_SCALE = "0.005"

PID_CODE = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    if data == "slow":
        time.sleep(2)
    if data == "slower":
        time.sleep(8)
    return {"pid": os.getpid()}
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("serverless") / "home"
    process = ServerProcess(home, SMSTATE_LOCAL_TIME_SCALE=TIME_SCALE).start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def rt(server: ServerProcess) -> Any:
    return clients(server.url)[1]


def deploy_serverless(sm: Any, name: str, tar: Path, **config: int) -> None:
    create_model(sm, name, tar)
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 2, **config}
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "primary", "ModelName": name, "ServerlessConfig": serverless}],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def pid_of(rt: Any, endpoint: str, payload: str = "fast") -> int:
    response = rt.invoke_endpoint(EndpointName=endpoint, Body=json.dumps(payload), ContentType="application/json")
    return int(json.loads(response["Body"].read())["pid"])


def test_max_concurrency_throttles_the_next_request(sm: Any, rt: Any, tmp_path: Path) -> None:
    deploy_serverless(sm, "limited", model_tar(tmp_path, "limited", PID_CODE), MaxConcurrency=2)

    def call(_: int) -> str:
        try:
            pid_of(rt, "limited", "slow")
            return "served"
        except ClientError as exc:
            error, status = exc.response["Error"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
            return f"{error['Code']} {status} {error['Message']}"

    with ThreadPoolExecutor(3) as pool:
        first = [pool.submit(call, i) for i in range(2)]
        time.sleep(0.5)  # both are in the model now
        third = pool.submit(call, 2).result()
        results = [f.result() for f in first]
    assert results == ["served", "served"]
    # AWS: sagemaker-runtime throttles with ThrottlingException, HTTP 400 and a null message
    # (boto3 prints "... when calling the InvokeEndpoint operation: None")
    assert third == "ThrottlingException 400 None"
    assert pid_of(rt, "limited")  # once they finished, requests are served again
    described = sm.describe_endpoint(EndpointName="limited")["ProductionVariants"][0]
    assert described["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 2}


def test_smstate_invoke_reports_a_throttle_in_one_line(
    sm: Any, rt: Any, server: ServerProcess, tmp_path: Path
) -> None:
    """A throttle has no message on AWS: the CLI still says what happened, in one Error line."""
    deploy_serverless(sm, "single", model_tar(tmp_path, "single", PID_CODE), MaxConcurrency=1)
    (tmp_path / "smstate.yaml").write_text(f'provider: {{type: local, url: "{server.url}", max_attempts: 1}}\n')
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(pid_of, rt, "single", "slower")
        time.sleep(0.5)  # the one request the variant takes is in the model now
        result = run_cli(["invoke", "single", "--body", '"fast"'], tmp_path, cli_env(None))
        assert busy.result()
    assert result.code == 1, str(result)
    assert result.errors == ["Error: InvokeEndpoint single: ThrottlingException"], str(result)
    assert len(result.err.strip().splitlines()) == 1


def test_cold_start_after_idle_and_provisioned_concurrency_stays_warm(
    sm: Any, rt: Any, server: ServerProcess, tmp_path: Path
) -> None:
    deploy_serverless(sm, "warm", model_tar(tmp_path / "warm", "warm", PID_CODE), ProvisionedConcurrency=1)
    warm_pid = pid_of(rt, "warm")
    deploy_serverless(sm, "cold", model_tar(tmp_path / "cold", "cold", PID_CODE))
    cold_pid = pid_of(rt, "cold")
    assert server.process is not None

    deadline = time.monotonic() + 20
    while cold_pid in model_servers(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cold_pid not in model_servers(server.process.pid)  # idle: scaled to zero
    assert warm_pid in model_servers(server.process.pid)  # provisioned: kept warm
    assert sm.describe_endpoint(EndpointName="cold")["EndpointStatus"] == "InService"

    restarted = pid_of(rt, "cold")  # a cold start, then the answer
    assert restarted != cold_pid and restarted in model_servers(server.process.pid)
    assert pid_of(rt, "warm") == warm_pid

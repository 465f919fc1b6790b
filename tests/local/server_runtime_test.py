"""InvokeEndpoint through boto3's sagemaker-runtime client: routing, headers,
errors, concurrency, latency."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from providers.local import server
from tests.local.server_harness import (
    PID_CODE,
    FAILING_CODE,
    ServerProcess,
    clients,
    create_model,
    deploy,
    invoke_label,
    model_tar,
    wait_in_service,
    wait_settled,
)

PID_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return {"label": str(os.getpid())}
'''

ATTRIBUTES_CODE = '''
def model_fn(model_dir):
    return "attributes"

def predict_fn(data, model, context):
    context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "seen=" + (context.custom_attributes or ""))
    return {"label": model, "input": data}
'''

SLOW_START_CODE = '''
import time

def model_fn(model_dir):
    time.sleep(3)
    return "slow"
'''


@pytest.fixture(scope="module")
def echo(sm: Any, models: Path) -> str:
    deploy(sm, "echo", model_tar(models, "v1"), count=2)
    return "echo"


def test_invoke_answers_with_the_variant(rt: Any, echo: str) -> None:
    response = rt.invoke_endpoint(
        EndpointName=echo, Body=json.dumps({"x": [1, 2]}), ContentType="application/json", Accept="application/json"
    )
    assert json.loads(response["Body"].read()) == {"label": "v1", "input": {"x": [1, 2]}}
    assert response["InvokedProductionVariant"] == "primary"
    assert response["ContentType"] == "application/json"


def test_custom_attributes_round_trip(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "attributes", model_tar(models, "attributes", ATTRIBUTES_CODE))
    response = rt.invoke_endpoint(
        EndpointName="attributes", Body=b"1", ContentType="application/json", CustomAttributes="trace=abc"
    )
    assert response["CustomAttributes"] == "seen=trace=abc"


def test_round_robin_across_instances(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "pids", model_tar(models, "pids", PID_CODE), count=3)
    seen = [invoke_label(rt, "pids") for _ in range(30)]
    assert len(set(seen)) == 3
    assert Counter(seen).most_common(1)[0][1] == 10


def test_weighted_variants_and_target_variant(sm: Any, rt: Any, models: Path) -> None:
    create_model(sm, "split-a", model_tar(models, "a"))
    create_model(sm, "split-b", model_tar(models, "b"))
    sm.create_endpoint_config(
        EndpointConfigName="split",
        ProductionVariants=[
            {"VariantName": "a", "ModelName": "split-a", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1,
             "InitialVariantWeight": 1},
            {"VariantName": "b", "ModelName": "split-b", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1,
             "InitialVariantWeight": 3},
        ],  # fmt: skip
    )
    sm.create_endpoint(EndpointName="split", EndpointConfigName="split")
    wait_in_service(sm, "split")
    counts = Counter(invoke_label(rt, "split") for _ in range(400))
    assert 60 <= counts["a"] <= 140, counts
    assert counts["a"] + counts["b"] == 400

    targeted = rt.invoke_endpoint(EndpointName="split", Body=b"1", ContentType="application/json", TargetVariant="a")
    assert targeted["InvokedProductionVariant"] == "a"
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="split", Body=b"1", ContentType="application/json", TargetVariant="zzz")
    assert caught.value.response["Error"]["Code"] == "ValidationError"

    sm.update_endpoint_weights_and_capacities(
        EndpointName="split",
        DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredWeight": 0},
            {"VariantName": "b", "DesiredInstanceCount": 2},
        ],
    )
    described = wait_settled(sm, "split")
    variants = {v["VariantName"]: v for v in described["ProductionVariants"]}
    assert described["EndpointStatus"] == "InService"
    assert variants["a"]["CurrentWeight"] == 0.0
    assert variants["b"]["CurrentInstanceCount"] == 2
    assert {invoke_label(rt, "split") for _ in range(40)} == {"b"}


def test_model_errors(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "failing", model_tar(models, "failing", FAILING_CODE))
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="failing", Body=b"1", ContentType="application/json")
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 500
    assert "this model always fails" in error["OriginalMessage"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_not_in_service_yet(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "slow", model_tar(models, "slow", SLOW_START_CODE), wait=False)
    assert sm.describe_endpoint(EndpointName="slow")["EndpointStatus"] == "Creating"
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="slow", Body=b"1", ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "not in service" in caught.value.response["Error"]["Message"]
    wait_in_service(sm, "slow")


def test_eight_threads_lose_nothing(server: ServerProcess, echo: str) -> None:
    def worker(thread: int) -> list[bool]:
        _, runtime = clients(server.url)
        results = []
        for index in range(500):
            payload = {"thread": thread, "index": index}
            body = json.dumps(payload)
            response = runtime.invoke_endpoint(EndpointName=echo, Body=body, ContentType="application/json")
            results.append(json.loads(response["Body"].read()) == {"label": "v1", "input": payload})
        return results

    with ThreadPoolExecutor(8) as pool:
        outcomes = [ok for results in pool.map(worker, range(8)) for ok in results]
    assert len(outcomes) == 4000
    assert all(outcomes)


def test_accepted_connections_do_not_wait_for_delayed_acks() -> None:
    """The listener sets TCP_NODELAY and the connections it accepts carry it: a small answer
    goes out at once instead of waiting ~40 ms for the client's delayed ACK."""
    listener = server.bind("127.0.0.1", 0)
    try:
        with socket.create_connection(listener.getsockname()[:2]) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listener.close()

"""InvokeEndpointWithResponseStream on the local server, read with boto3's EventStream:
a model whose handler yields chunks streams them as `PayloadPart` events, in
order and as they are produced; a stream that breaks ends with `ModelStreamError`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from tests.local.server_harness import ECHO_CODE, FAILING_CODE, ServerProcess, clients, deploy, model_tar

#: Yields "first", then waits for the file $GATE before the rest: a server that
#: buffered the answer to its end would deliver nothing until the wait gave up.
GATED_CODE = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    yield "first;"
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["GATE"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    if not os.path.exists(os.environ["GATE"]):
        yield "gave-up;"
        return
    for word in data:
        yield word + ";"

def output_fn(prediction, accept):
    return prediction, "text/plain"
'''

#: Yields two chunks, then fails.
BREAKING_CODE = '''
def model_fn(model_dir):
    return None

def predict_fn(data, model):
    yield "one;"
    yield "two;"
    raise RuntimeError("the model broke mid-stream")
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("streaming") / "home").start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sm_rt(server: ServerProcess) -> tuple[Any, Any]:
    return clients(server.url)


def deploy_code(sm: Any, name: str, directory: Path, code: str, **environment: str) -> None:
    tar = model_tar(directory, name, code)
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "local/stream", "ModelDataUrl": str(tar),
                          "Environment": {"SAGEMAKER_PROGRAM": "inference.py", **environment}},
        ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
    )  # fmt: skip
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "main", "ModelName": name, "InstanceType": "ml.m5.large",
                             "InitialInstanceCount": 1}],
    )  # fmt: skip
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})


def stream(rt: Any, endpoint: str, payload: Any) -> Any:
    return rt.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=json.dumps(payload), ContentType="application/json"
    )


def test_chunks_arrive_in_order_as_the_model_produces_them(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    gate = tmp_path / "go"
    deploy_code(sm, "gated", tmp_path, GATED_CODE, GATE=str(gate))
    response = stream(rt, "gated", ["alpha", "beta", "gamma"])
    assert response["ContentType"] == "text/plain"
    assert response["InvokedProductionVariant"] == "main"
    events = iter(response["Body"])
    assert next(events) == {"PayloadPart": {"Bytes": b"first;"}}
    gate.touch()  # only now may the model go on
    rest = [event["PayloadPart"]["Bytes"] for event in events]
    assert rest == [b"alpha;", b"beta;", b"gamma;"]


def test_a_stream_that_breaks_ends_with_model_stream_error(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    deploy_code(sm, "breaking", tmp_path, BREAKING_CODE)
    received = []
    with pytest.raises(EventStreamError) as broken:
        for event in stream(rt, "breaking", [1])["Body"]:
            received.append(event["PayloadPart"]["Bytes"])
    assert received == [b"one;", b"two;"]
    assert broken.value.response["Error"]["Code"] == "ModelStreamError"
    assert broken.value.response["Error"]["Message"].startswith("The model's response stream broke")


def test_a_model_that_answers_whole_streams_one_part(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    deploy(sm, "whole", model_tar(tmp_path, "whole", ECHO_CODE))
    parts = [event["PayloadPart"]["Bytes"] for event in stream(rt, "whole", [3])["Body"]]
    assert json.loads(b"".join(parts)) == {"label": "whole", "input": [3]}


def test_a_streaming_model_answers_invoke_endpoint_whole(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    deploy_code(sm, "gated-whole", tmp_path, GATED_CODE, GATE=str(tmp_path))  # the gate is open
    response = rt.invoke_endpoint(EndpointName="gated-whole", Body=b'["a", "b"]', ContentType="application/json")
    assert response["Body"].read() == b"first;a;b;"


def test_a_model_error_before_the_stream_is_a_model_error(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    deploy(sm, "failing-stream", model_tar(tmp_path, "failing-stream", FAILING_CODE))
    with pytest.raises(ClientError) as refused:
        stream(rt, "failing-stream", [1])
    assert refused.value.response["Error"]["Code"] == "ModelError"
    assert refused.value.response["OriginalStatusCode"] == 500


def test_an_unknown_endpoint_is_refused(sm_rt: tuple[Any, Any]) -> None:
    _, rt = sm_rt
    with pytest.raises(ClientError) as refused:
        stream(rt, "nowhere", [1])
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    # AWS: "Endpoint <name> of account <account> not found." (sagemaker-runtime, ValidationError)
    assert refused.value.response["Error"]["Message"] == "Endpoint nowhere of account 000000000000 not found."

"""Asynchronous inference on the local target, through boto3, the AWS CLI and a moto S3:
InvokeEndpointAsync answers 202 with the InferenceId and the S3 locations of the result,
reads its input from S3, writes the answer (or the failure) where the endpoint config
says, runs at most MaxConcurrentInvocationsPerInstance at once per instance, and records
the SNS notifications; a synchronous InvokeEndpoint on it is refused."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.s3_harness import moto_s3, s3_client
from tests.local.server_harness import FAILING_CODE, ServerProcess, clients, create_model, model_tar, wait_in_service

TIMED_CODE = '''
import time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    start = time.time()
    time.sleep(0.4)
    return {"start": start, "end": time.time(), "input": data}
'''

SUCCESS_TOPIC = "arn:aws:sns:us-east-1:000000000000:async-success"
ERROR_TOPIC = "arn:aws:sns:us-east-1:000000000000:async-error"


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        s3_client(url).create_bucket(Bucket="async-io")
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, s3_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("async") / "home", AWS_ENDPOINT_URL_S3=s3_url).start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def rt(server: ServerProcess) -> Any:
    return clients(server.url)[1]


@pytest.fixture(scope="module")
def s3(s3_url: str) -> Any:
    return s3_client(s3_url)


def deploy_async(sm: Any, name: str, tar: Path, per_instance: int = 4, count: int = 1) -> None:
    create_model(sm, name, tar)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large",
                             "InitialInstanceCount": count}],
        AsyncInferenceConfig={
            "OutputConfig": {
                "S3OutputPath": f"s3://async-io/{name}/out/",
                "S3FailurePath": f"s3://async-io/{name}/failed",
                "NotificationConfig": {"SuccessTopic": SUCCESS_TOPIC, "ErrorTopic": ERROR_TOPIC,
                                       "IncludeInferenceResponseIn": ["ERROR_NOTIFICATION_TOPIC"]},
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": per_instance},
        },
    )  # fmt: skip
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def read_when_there(s3: Any, uri: str, timeout: float = 30.0) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    deadline = time.monotonic() + timeout
    while True:
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def notifications(server: ServerProcess) -> list[dict[str, Any]]:
    path = server.home / "async-notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_round_trip_through_s3(sm: Any, rt: Any, s3: Any, server: ServerProcess, tmp_path: Path) -> None:
    deploy_async(sm, "answers", model_tar(tmp_path, "answers"))
    s3.put_object(Bucket="async-io", Key="inputs/one.json", Body=b'{"x": 1}')
    answer = rt.invoke_endpoint_async(
        EndpointName="answers", InputLocation="s3://async-io/inputs/one.json", ContentType="application/json"
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["ResponseMetadata"]["RequestId"]
    inference_id = answer["InferenceId"]
    assert answer["OutputLocation"] == f"s3://async-io/answers/out/{inference_id}.out"
    assert answer["FailureLocation"] == f"s3://async-io/answers/failed/{inference_id}-error.out"
    assert json.loads(read_when_there(s3, answer["OutputLocation"])) == {"label": "answers", "input": {"x": 1}}

    named = rt.invoke_endpoint_async(
        EndpointName="answers", InputLocation="s3://async-io/inputs/one.json", InferenceId="mine-1"
    )
    assert named["InferenceId"] == "mine-1"
    assert named["OutputLocation"] == "s3://async-io/answers/out/mine-1.out"
    read_when_there(s3, named["OutputLocation"])
    sent = [n for n in notifications(server) if n["Message"]["inferenceId"] == "mine-1"]
    assert sent and sent[0]["TopicArn"] == SUCCESS_TOPIC
    message = sent[0]["Message"]
    assert message["invocationStatus"] == "Completed"
    assert message["responseParameters"]["outputLocation"] == named["OutputLocation"]
    assert message["requestParameters"]["inputLocation"] == "s3://async-io/inputs/one.json"
    assert "responseBody" not in message  # not asked for on the success topic

    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="answers", Body=b"{}", ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "InvokeEndpointAsync" in caught.value.response["Error"]["Message"]


def test_failures_go_to_the_failure_path(sm: Any, rt: Any, s3: Any, server: ServerProcess, tmp_path: Path) -> None:
    deploy_async(sm, "fails", model_tar(tmp_path, "fails", FAILING_CODE))
    s3.put_object(Bucket="async-io", Key="inputs/two.json", Body=b"[1]")
    answer = rt.invoke_endpoint_async(EndpointName="fails", InputLocation="s3://async-io/inputs/two.json")
    assert b"this model always fails" in read_when_there(s3, answer["FailureLocation"])
    missing = rt.invoke_endpoint_async(EndpointName="fails", InputLocation="s3://async-io/inputs/absent.json")
    assert b"s3://async-io/inputs/absent.json does not exist" in read_when_there(s3, missing["FailureLocation"])
    failed = [n for n in notifications(server) if n["Message"]["inferenceId"] == answer["InferenceId"]]
    assert failed[0]["TopicArn"] == ERROR_TOPIC and failed[0]["Message"]["invocationStatus"] == "Failed"
    included = base64.b64decode(failed[0]["Message"]["responseBody"]["content"])  # IncludeInferenceResponseIn
    assert b"this model always fails" in included


def test_async_invoke_of_a_real_time_endpoint_is_refused(sm: Any, rt: Any, tmp_path: Path) -> None:
    create_model(sm, "realtime", model_tar(tmp_path, "realtime"))
    sm.create_endpoint_config(
        EndpointConfigName="realtime",
        ProductionVariants=[{"VariantName": "primary", "ModelName": "realtime", "InstanceType": "ml.m5.large",
                             "InitialInstanceCount": 1}],
    )  # fmt: skip
    sm.create_endpoint(EndpointName="realtime", EndpointConfigName="realtime")
    wait_in_service(sm, "realtime")
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint_async(EndpointName="realtime", InputLocation="s3://async-io/inputs/one.json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "InvokeEndpoint." in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint_async(EndpointName="nowhere", InputLocation="s3://async-io/inputs/one.json")
    # AWS: "Endpoint <name> of account <account> not found." (sagemaker-runtime, ValidationError)
    assert caught.value.response["Error"] == {
        "Code": "ValidationError", "Message": "Endpoint nowhere of account 000000000000 not found."
    }


def test_concurrency_per_instance_is_honoured(sm: Any, rt: Any, s3: Any, tmp_path: Path) -> None:
    deploy_async(sm, "one-at-a-time", model_tar(tmp_path, "timed", TIMED_CODE), per_instance=1)
    s3.put_object(Bucket="async-io", Key="inputs/timed.json", Body=b"1")
    answers = [
        rt.invoke_endpoint_async(EndpointName="one-at-a-time", InputLocation="s3://async-io/inputs/timed.json")
        for _ in range(3)
    ]
    spans = sorted(
        (result["start"], result["end"])
        for result in (json.loads(read_when_there(s3, a["OutputLocation"])) for a in answers)
    )
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))  # never two at once


def test_aws_cli_invokes_asynchronously(sm: Any, server: ServerProcess, s3: Any, tmp_path: Path) -> None:
    deploy_async(sm, "cli", model_tar(tmp_path, "cli"))
    s3.put_object(Bucket="async-io", Key="inputs/cli.json", Body=b'{"x": 2}')
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), "sagemaker-runtime", "invoke-endpoint-async", "--endpoint-name", "cli",
         "--input-location", "s3://async-io/inputs/cli.json", "--endpoint-url", server.url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["OutputLocation"] == f"s3://async-io/cli/out/{answer['InferenceId']}.out"
    assert json.loads(read_when_there(s3, answer["OutputLocation"])) == {"label": "cli", "input": {"x": 2}}


def test_invocation_timeout_and_ttl_bounds(sm: Any, rt: Any, s3: Any, tmp_path: Path) -> None:
    deploy_async(sm, "sleepy", model_tar(tmp_path, "sleepy", TIMED_CODE.replace("0.4", "3")))
    s3.put_object(Bucket="async-io", Key="inputs/sleepy.json", Body=b"1")
    late = rt.invoke_endpoint_async(
        EndpointName="sleepy", InputLocation="s3://async-io/inputs/sleepy.json", InvocationTimeoutSeconds=1
    )
    assert b"did not answer within 1 s" in read_when_there(s3, late["FailureLocation"])
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint_async(
            EndpointName="sleepy", InputLocation="s3://async-io/inputs/sleepy.json", RequestTTLSeconds=30000
        )
    assert caught.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value '30000' at 'requestTTLSeconds' failed to satisfy "
        "constraint: Member must have value less than or equal to 21600",
    }


def test_inline_body_instead_of_an_input_location(sm: Any, rt: Any, s3: Any, server: ServerProcess, tmp_path: Path) -> None:
    # botocore's model: "Body and InputLocation are mutually exclusive. Provide exactly one of them." (at most 128,000 bytes)
    deploy_async(sm, "inline", model_tar(tmp_path, "inline"))
    answer = rt.invoke_endpoint_async(EndpointName="inline", Body=b'{"x": 3}', ContentType="application/json",
                                      InferenceId="inline-1")  # fmt: skip
    assert answer["OutputLocation"] == "s3://async-io/inline/out/inline-1.out"
    assert json.loads(read_when_there(s3, answer["OutputLocation"])) == {"label": "inline", "input": {"x": 3}}
    sent = [n["Message"] for n in notifications(server) if n["Message"]["inferenceId"] == "inline-1"]
    assert sent and "inputLocation" not in sent[0]["requestParameters"]

    s3.put_object(Bucket="async-io", Key="inputs/inline.json", Body=b"{}")
    with pytest.raises(ClientError) as both:
        rt.invoke_endpoint_async(EndpointName="inline", Body=b"{}", InputLocation="s3://async-io/inputs/inline.json")
    assert both.value.response["Error"]["Code"] == "ValidationError"
    assert "mutually exclusive" in both.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as large:
        rt.invoke_endpoint_async(EndpointName="inline", Body=b"1" * 128_001, ContentType="application/json")
    assert large.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value at 'body' failed to satisfy constraint: "
        "Member must have length less than or equal to 128000",
    }
    with pytest.raises(ClientError) as neither:
        rt.invoke_endpoint_async(EndpointName="inline", ContentType="application/json")
    assert "Value null at 'inputLocation'" in neither.value.response["Error"]["Message"]

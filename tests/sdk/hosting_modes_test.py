"""The SageMaker Python SDK v2 against the local target, as a user drives it: `Model.deploy`
real time with data capture, serverless, asynchronous (`AsyncPredictor`) and multi-model
(`MultiDataModel`), each answered, described and deleted through the SDK. What the SDK
wrote to S3 and what is left in SageMaker are read here with boto3."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.modes_harness import s3_client
from tests.local.server_harness import model_tar
from tests.sdk.conftest import RunSdk

BODY = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
PREDICTIONS = {"predictions": ["setosa", "virginica"]}
ONE = {"predictions": ["setosa"]}


def objects(s3_url: str, bucket: str, prefix: str, count: int, timeout: float = 20.0) -> dict[str, bytes]:
    """Key -> body of every object under `prefix`, once there are at least `count`."""
    s3 = s3_client(s3_url)
    deadline = time.monotonic() + timeout
    while True:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if len(listed) >= count or time.monotonic() > deadline:
            return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
        time.sleep(0.2)


def same_json(bodies: Iterable[bytes], expected: list[Any]) -> bool:
    """Whether the bodies hold exactly the expected JSON values, in any order."""
    return sorted(json.dumps(json.loads(body)) for body in bodies) == sorted(map(json.dumps, expected))


def assert_deleted(sm: Any, name: str) -> None:
    """Endpoint, endpoint config and model `name` are gone, with SageMaker's errors."""
    for call, kwargs, message in (
        (sm.describe_endpoint, {"EndpointName": name}, "Could not find endpoint"),
        (sm.describe_endpoint_config, {"EndpointConfigName": name}, "Could not find endpoint configuration"),
        (sm.describe_model, {"ModelName": name}, "Could not find model"),
    ):
        with pytest.raises(ClientError) as missing:
            call(**kwargs)
        assert missing.value.response["Error"]["Code"] == "ValidationException"
        assert missing.value.response["Error"]["Message"].startswith(message)


def test_real_time_deploy_predict_capture_and_delete(
    run_sdk: RunSdk, sm: Any, moto_url: str, quickstart_model: Path
) -> None:
    capture = "s3://sdk-realtime/capture"
    seen = run_sdk(
        "realtime.py", "sdk-realtime", SDK_MODEL=str(quickstart_model / "model.tar.gz"), SDK_CAPTURE_URI=capture
    )
    assert seen["answers"] == [PREDICTIONS, ONE]
    assert seen["described"]["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": capture,
    }  # fmt: skip
    assert [v["VariantName"] for v in seen["described"]["ProductionVariants"]] == ["AllTraffic"]

    files = objects(moto_url, "sdk-realtime", "capture/", 1)
    assert files and all(
        re.fullmatch(r"capture/sdk-realtime/AllTraffic/\d{4}/\d\d/\d\d/\d\d/[\w-]+\.jsonl", key) for key in files
    ), sorted(files)
    events = [json.loads(line) for body in files.values() for line in body.decode().splitlines()]
    assert len(events) == 2
    events.sort(key=lambda event: len(event["captureData"]["endpointInput"]["data"]), reverse=True)
    for event, sent, answered in zip(events, (BODY, BODY["instances"][:1]), (PREDICTIONS, ONE)):
        given, output = event["captureData"]["endpointInput"], event["captureData"]["endpointOutput"]
        assert (given["observedContentType"], given["mode"], given["encoding"]) == ("application/json", "INPUT", "JSON")
        assert json.loads(given["data"]) == sent
        assert (output["mode"], output["encoding"]) == ("OUTPUT", "JSON")
        assert json.loads(output["data"]) == answered
        assert event["eventVersion"] == "0" and event["eventMetadata"]["eventId"]
    assert_deleted(sm, "sdk-realtime")


def test_serverless_deploy_predict_and_delete(run_sdk: RunSdk, sm: Any, quickstart_model: Path) -> None:
    seen = run_sdk("serverless.py", "sdk-serverless", SDK_MODEL=str(quickstart_model / "model.tar.gz"))
    assert seen["answer"] == PREDICTIONS
    (variant,) = seen["described"]["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 3}
    assert "CurrentInstanceCount" not in variant
    assert_deleted(sm, "sdk-serverless")


def test_async_predictor_round_trips_through_s3(
    run_sdk: RunSdk, sm: Any, moto_url: str, quickstart_model: Path
) -> None:
    seen = run_sdk(
        "async_inference.py", "sdk-async", SDK_MODEL=str(quickstart_model / "model.tar.gz"),
        SDK_OUTPUT_URI="s3://sdk-async/out", SDK_FAILURE_URI="s3://sdk-async/failed",
    )  # fmt: skip
    assert seen["predictor"] == "AsyncPredictor"
    assert (seen["answer"], seen["later"]) == (PREDICTIONS, ONE)
    assert seen["described"]["AsyncInferenceConfig"]["OutputConfig"] == {
        "S3OutputPath": "s3://sdk-async/out", "S3FailurePath": "s3://sdk-async/failed"
    }
    inputs = objects(moto_url, "sdk-async", "async-endpoint-inputs/", 2)  # uploaded by the SDK itself
    assert same_json(inputs.values(), [BODY, BODY["instances"][:1]])
    outputs = objects(moto_url, "sdk-async", "out/", 2)
    assert seen["output_path"].removeprefix("s3://sdk-async/") in outputs
    assert same_json(outputs.values(), [PREDICTIONS, ONE])
    assert objects(moto_url, "sdk-async", "failed/", 0) == {}
    assert_deleted(sm, "sdk-async")


def test_multi_data_model_serves_each_added_model(
    run_sdk: RunSdk, sm: Any, moto_url: str, quickstart_model: Path, tmp_path: Path
) -> None:
    other = model_tar(tmp_path / "other", "other")
    seen = run_sdk(
        "multi_model.py", "sdk-mme", SDK_MODEL=str(quickstart_model / "model.tar.gz"), SDK_OTHER_MODEL=str(other)
    )
    assert seen["answers"] == {"iris.tar.gz": PREDICTIONS, "other.tar.gz": {"label": "other", "input": BODY}}
    assert seen["listed"] == ["iris.tar.gz", "other.tar.gz"]
    assert seen["container"]["Mode"] == "MultiModel"
    assert seen["container"]["ModelDataUrl"] == "s3://sdk-mme/mme/"
    assert sorted(objects(moto_url, "sdk-mme", "mme/", 2)) == ["mme/iris.tar.gz", "mme/other.tar.gz"]
    assert_deleted(sm, "sdk-multi-model")

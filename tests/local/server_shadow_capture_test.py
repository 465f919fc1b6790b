"""Shadow variants and data capture on the local server, driven with boto3 as on AWS.

A shadow variant gets a copy of the production traffic at its share and its answer
is discarded; data capture writes SageMaker's JSON Lines events under
`DestinationS3Uri/<endpoint>/<variant>/yyyy/mm/dd/hh/` (here on a moto server);
DescribeEndpoint answers the summary shapes."""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local.modes_harness import BUCKET, bucket, moto_url, s3_env, start_server  # noqa: F401
from tests.local.server_harness import (
    FAILING_CODE,
    ServerProcess,
    clients,
    create_model,
    model_tar,
    wait_in_service,
    wait_settled,
)

ROLE = "arn:aws:iam::000000000000:role/local"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[ServerProcess]:  # noqa: F811
    yield from start_server(tmp_path_factory.mktemp("shadow") / "home", moto_url)


@pytest.fixture(scope="module")
def sm_rt(server: ServerProcess) -> tuple[Any, Any]:
    return clients(server.url)


def deploy_with(sm: Any, name: str, models: dict[str, Path], **config: Any) -> None:
    for variant, tar in models.items():
        create_model(sm, f"{name}-{variant}", tar)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[_variant(name, "prod")],
        **config,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def _variant(endpoint: str, variant: str, weight: float = 1.0) -> dict[str, Any]:
    return {
        "VariantName": variant, "ModelName": f"{endpoint}-{variant}", "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1, "InitialVariantWeight": weight,
    }


def captured(s3: Any, prefix: str, count: int, timeout: float = 20.0) -> list[tuple[str, dict[str, Any]]]:
    """(key, event) of every captured event under `prefix`, once there are `count`."""
    deadline = time.monotonic() + timeout
    while True:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        events = [
            (obj["Key"], json.loads(line))
            for obj in listed
            for line in s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode().splitlines()
        ]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def hour_folders() -> set[str]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {f"{t:%Y/%m/%d/%H}" for t in (now - datetime.timedelta(minutes=1), now)}


CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": f"s3://{BUCKET}/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
}


def test_shadow_gets_a_copy_of_each_request_and_both_are_captured(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    models = {"prod": model_tar(tmp_path, "prod"), "shadow": model_tar(tmp_path, "shadow")}
    deploy_with(sm, "shadowed", models, ShadowProductionVariants=[_variant("shadowed", "shadow")],
                DataCaptureConfig=CAPTURE)
    folders = hour_folders()
    for n in range(5):
        response = rt.invoke_endpoint(
            EndpointName="shadowed", Body=json.dumps([n]), ContentType="application/json", InferenceId=f"req-{n}"
        )
        assert response["InvokedProductionVariant"] == "prod"
        assert json.loads(response["Body"].read()) == {"label": "prod", "input": [n]}

    for variant in ("prod", "shadow"):
        events = captured(bucket, f"capture/shadowed/{variant}/", 5)
        assert len(events) == 5
        for key, event in events:
            assert re.fullmatch(rf"capture/shadowed/{variant}/(\d{{4}}/\d\d/\d\d/\d\d)/[^/]+\.jsonl", key)
            assert "/".join(key.split("/")[3:7]) in folders
            assert event["eventVersion"] == "0"
            assert set(event["eventMetadata"]) >= {"eventId", "inferenceId", "inferenceTime"}
            request = event["captureData"]["endpointInput"]
            assert request["observedContentType"] == "application/json"
            assert (request["mode"], request["encoding"]) == ("INPUT", "JSON")
            n = json.loads(request["data"])[0]
            assert event["eventMetadata"]["inferenceId"] == f"req-{n}"
            output = event["captureData"]["endpointOutput"]
            assert (output["mode"], output["encoding"]) == ("OUTPUT", "JSON")
            assert json.loads(output["data"]) == {"label": variant, "input": [n]}
        assert len({e["eventMetadata"]["eventId"] for _, e in events}) == 5


def test_describe_endpoint_answers_the_summary_shapes(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, _ = sm_rt
    models = {"prod": model_tar(tmp_path, "prod"), "shadow": model_tar(tmp_path, "shadow")}
    deploy_with(sm, "summaries", models, ShadowProductionVariants=[_variant("summaries", "shadow", 0.5)],
                DataCaptureConfig={**CAPTURE, "InitialSamplingPercentage": 40})
    described = sm.describe_endpoint(EndpointName="summaries")
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 40,
        "DestinationS3Uri": f"s3://{BUCKET}/capture",
    }
    [shadow] = described["ShadowProductionVariants"]
    assert shadow["VariantName"] == "shadow"
    assert (shadow["CurrentInstanceCount"], shadow["DesiredInstanceCount"]) == (1, 1)
    assert shadow["CurrentWeight"] == shadow["DesiredWeight"] == 0.5
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["prod"]


def test_a_failing_shadow_never_changes_the_production_answer(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    models = {"prod": model_tar(tmp_path, "prod"), "shadow": model_tar(tmp_path, "broken", FAILING_CODE)}
    deploy_with(sm, "bad-shadow", models, ShadowProductionVariants=[_variant("bad-shadow", "shadow")])
    for n in range(10):
        response = rt.invoke_endpoint(EndpointName="bad-shadow", Body=json.dumps([n]), ContentType="application/json")
        assert json.loads(response["Body"].read()) == {"label": "prod", "input": [n]}


def test_capture_of_outputs_only_without_content_type_headers_is_base64(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    config = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/outputs", "CaptureOptions": [{"CaptureMode": "Output"}]}
    del config["CaptureContentTypeHeader"]
    deploy_with(sm, "outputs", {"prod": model_tar(tmp_path, "prod")}, DataCaptureConfig=config)
    answer = rt.invoke_endpoint(EndpointName="outputs", Body=b"[7]", ContentType="application/json")["Body"].read()

    [(_, event)] = captured(bucket, "outputs/outputs/prod/", 1)
    assert set(event["captureData"]) == {"endpointOutput"}
    output = event["captureData"]["endpointOutput"]
    assert output["encoding"] == "BASE64"
    assert base64.b64decode(output["data"]) == answer
    assert "inferenceId" not in event["eventMetadata"]


def settled(s3: Any, prefix: str) -> int:
    """How many events are captured under `prefix` once no more arrive (flushes are ~1 s apart)."""
    count = -1
    while True:
        now = len(captured(s3, prefix, 0))
        if now == count:
            return count
        count = now
        time.sleep(2.5)


def test_capture_samples_its_percentage_and_a_shadow_gets_its_weights_share(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    models = {"prod": model_tar(tmp_path, "prod"), "shadow": model_tar(tmp_path, "shadow")}
    half = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/sampled", "InitialSamplingPercentage": 50}
    deploy_with(sm, "half-captured", {"prod": models["prod"]}, DataCaptureConfig=half)
    every = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/shares"}
    deploy_with(sm, "half-shadowed", models, DataCaptureConfig=every,
                ShadowProductionVariants=[_variant("half-shadowed", "shadow", 0.5)])  # 0.5 / 1: half the requests
    for endpoint in ("half-captured", "half-shadowed"):
        for n in range(200):
            rt.invoke_endpoint(EndpointName=endpoint, Body=json.dumps([n]), ContentType="application/json")

    assert 60 <= settled(bucket, "sampled/half-captured/prod/") <= 140  # 100 expected; 6 deviations either way
    assert settled(bucket, "shares/half-shadowed/prod/") == 200
    assert 60 <= settled(bucket, "shares/half-shadowed/shadow/") <= 140


def test_csv_requests_are_captured_as_text(sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path) -> None:
    sm, rt = sm_rt
    config = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/csv", "CaptureOptions": [{"CaptureMode": "Input"}],
              "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}  # fmt: skip
    deploy_with(sm, "csv-in", {"prod": model_tar(tmp_path, "prod")}, DataCaptureConfig=config)
    rt.invoke_endpoint(EndpointName="csv-in", Body=b"1,2\n3,4\n", ContentType="text/csv", Accept="application/json",
                       InferenceId="csv-1")  # fmt: skip

    [(_, event)] = captured(bucket, "csv/csv-in/prod/", 1)
    assert event["captureData"] == {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2\n3,4\n", "encoding": "CSV"}
    }
    assert event["eventMetadata"]["inferenceId"] == "csv-1"


def test_events_still_buffered_when_the_server_stops_are_written(
    moto_url: str, bucket: Any, tmp_path: Path  # noqa: F811
) -> None:
    stopping = ServerProcess(tmp_path / "home", **s3_env(moto_url)).start()
    try:
        sm, rt = clients(stopping.url)
        config = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/at-stop"}
        deploy_with(sm, "at-stop", {"prod": model_tar(tmp_path, "prod")}, DataCaptureConfig=config)
        rt.invoke_endpoint(EndpointName="at-stop", Body=b"[1]", ContentType="application/json")
    finally:
        assert stopping.terminate() == 0  # at once: well within the capture's flush interval
    [(_, event)] = captured(bucket, "at-stop/at-stop/prod/", 1, timeout=5)
    assert json.loads(event["captureData"]["endpointInput"]["data"]) == [1]


def test_capture_turned_off_is_stopped_and_writes_nothing_for_its_endpoint(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    off = {**CAPTURE, "EnableCapture": False, "DestinationS3Uri": f"s3://{BUCKET}/off"}
    on = {**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/off"}  # same destination, capturing: the control
    deploy_with(sm, "capture-off", {"prod": model_tar(tmp_path, "prod")}, DataCaptureConfig=off)
    deploy_with(sm, "capture-on", {"prod": model_tar(tmp_path / "on", "prod")}, DataCaptureConfig=on)
    summary = sm.describe_endpoint(EndpointName="capture-off")["DataCaptureConfig"]
    assert (summary["EnableCapture"], summary["CaptureStatus"]) == (False, "Stopped")
    for endpoint in ("capture-off", "capture-on"):
        rt.invoke_endpoint(EndpointName=endpoint, Body=b"[1]", ContentType="application/json")

    assert len(captured(bucket, "off/capture-on/", 1)) == 1  # written by now: the other one would be too
    assert captured(bucket, "off/capture-off/", 0) == []


#: Holds every request until the file $GATE exists (30 s at most), then says whether it was let through.
GATED_SHADOW = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["GATE"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"label": "shadow", "released": os.path.exists(os.environ["GATE"])}
'''


def test_production_never_waits_for_its_shadow_and_copies_past_the_bound_are_dropped(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    gate = tmp_path / "gate"
    create_model(sm, "held-prod", model_tar(tmp_path, "prod"))
    sm.create_model(
        ModelName="held-shadow", ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "local/echo", "ModelDataUrl": str(model_tar(tmp_path, "gated", GATED_SHADOW)),
                          "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "GATE": str(gate)}},
    )  # fmt: skip
    sm.create_endpoint_config(
        EndpointConfigName="held", ProductionVariants=[_variant("held", "prod")],
        ShadowProductionVariants=[_variant("held", "shadow")],
        DataCaptureConfig={**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/held",
                           "CaptureOptions": [{"CaptureMode": "Output"}]},
    )  # fmt: skip
    sm.create_endpoint(EndpointName="held", EndpointConfigName="held")
    wait_in_service(sm, "held")

    for n in range(70):  # every answer arrives while the shadow still holds its first copy
        response = rt.invoke_endpoint(EndpointName="held", Body=json.dumps([n]), ContentType="application/json")
        assert json.loads(response["Body"].read()) == {"label": "prod", "input": [n]}
    gate.touch()

    assert settled(bucket, "held/held/prod/") == 70
    assert settled(bucket, "held/held/shadow/") == 64  # at most 64 copies outstanding: the other 6 were dropped
    shadow = captured(bucket, "held/held/shadow/", 64)
    assert all(json.loads(e["captureData"]["endpointOutput"]["data"])["released"] for _, e in shadow)


def test_an_update_brings_the_new_configs_shadow_and_capture(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt
    models = {"prod": model_tar(tmp_path, "prod"), "shadow": model_tar(tmp_path, "shadow")}
    deploy_with(sm, "updated", models, DataCaptureConfig={**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/before"})
    sm.create_endpoint_config(
        EndpointConfigName="updated-2", ProductionVariants=[_variant("updated", "prod")],
        ShadowProductionVariants=[_variant("updated", "shadow")],
        DataCaptureConfig={**CAPTURE, "DestinationS3Uri": f"s3://{BUCKET}/after"},
    )  # fmt: skip
    sm.update_endpoint(EndpointName="updated", EndpointConfigName="updated-2")
    described = wait_settled(sm, "updated")
    assert described["EndpointStatus"] == "InService"
    assert described["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{BUCKET}/after"
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["shadow"]

    rt.invoke_endpoint(EndpointName="updated", Body=b"[5]", ContentType="application/json")
    [(_, event)] = captured(bucket, "after/updated/shadow/", 1)
    assert json.loads(event["captureData"]["endpointOutput"]["data"]) == {"label": "shadow", "input": [5]}

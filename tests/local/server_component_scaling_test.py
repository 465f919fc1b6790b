"""Inference components with Application Auto Scaling and CloudWatch on the local server,
through boto3: copy counts scaled by target tracking on InvocationsPerCopy, the metrics
published per InferenceComponentName, and rolling updates rolled back by a named alarm."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.server_harness import FAILING_CODE, ServerProcess, Traffic, clients, cloudwatch, create_model, model_tar, settle, wait_for

ROLE = "arn:aws:iam::000000000000:role/local"
SMALL = {"NumberOfCpuCoresRequired": 0.5, "MinMemoryRequiredInMb": 512}
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any, Any, Path]]:
    root = tmp_path_factory.mktemp("component-scaling")
    server = ServerProcess(root / "home").start()
    sm, rt = clients(server.url)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    aas = session.client("application-autoscaling", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}))
    models = root / "models"
    create_model(sm, "good", model_tar(models, "good"))
    create_model(sm, "newer", model_tar(models, "newer"))
    create_model(sm, "failing", model_tar(models, "failing", FAILING_CODE))
    sm.create_endpoint_config(
        EndpointConfigName="hosts",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[{"VariantName": "main", "InstanceType": "ml.m5.2xlarge", "InitialInstanceCount": 1}],
    )
    sm.create_endpoint(EndpointName="hosts", EndpointConfigName="hosts")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="hosts", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    try:
        yield sm, rt, aas, cloudwatch(server.url), models
    finally:
        server.close()



def component(sm: Any, name: str, model: str, copies: int = 1) -> dict[str, Any]:
    sm.create_inference_component(
        InferenceComponentName=name, EndpointName="hosts", VariantName="main",
        Specification={"ModelName": model, "ComputeResourceRequirements": SMALL}, RuntimeConfig={"CopyCount": copies},
    )  # fmt: skip
    return settle(sm, name)


def target(name: str) -> dict[str, str]:
    return {"ServiceNamespace": "sagemaker", "ResourceId": f"inference-component/{name}", "ScalableDimension": DIMENSION}


def copies(sm: Any, name: str) -> tuple[int, int]:
    runtime = sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
    return runtime["CurrentCopyCount"], runtime["DesiredCopyCount"]


def ask(rt: Any, name: str) -> str:
    response = rt.invoke_endpoint(EndpointName="hosts", InferenceComponentName=name, Body=b"1", ContentType="application/json")
    return str(json.loads(response["Body"].read())["label"])


def load(rt: Any, name: str, deadline: float) -> None:
    """Invoke the component until `deadline` (a bounded client loop)."""
    while time.monotonic() < deadline:
        ask(rt, name)



def activities(aas: Any, name: str) -> list[dict[str, Any]]:
    return list(aas.describe_scaling_activities(**target(name))["ScalingActivities"])


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


def test_copy_count_follows_invocations_per_copy(local: tuple[Any, ...]) -> None:
    sm, rt, aas, cw, _ = local
    component(sm, "tracked", "good")
    aas.register_scalable_target(**target("tracked"), MinCapacity=1, MaxCapacity=3)
    policy = aas.put_scaling_policy(
        PolicyName="per-copy", **target("tracked"), PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 20.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
        },
    )  # fmt: skip
    high = cw.describe_alarms(AlarmNames=[policy["Alarms"][0]["AlarmName"]])["MetricAlarms"][0]
    assert (high["MetricName"], high["Statistic"], high["Threshold"]) == ("InvocationsPerCopy", "Sum", 20.0)
    assert high["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "tracked"}]
    with ThreadPoolExecutor(4) as pool:
        deadline = time.monotonic() + 12
        for _ in range(4):
            pool.submit(load, rt, "tracked", deadline)
        wait_for(lambda: copies(sm, "tracked")[0] >= 2, "a scale-out under load", timeout=12)
    wait_for(lambda: copies(sm, "tracked") == (1, 1), "the scale-in after the load", timeout=60)
    wait_for(lambda: activities(aas, "tracked")[0]["StatusCode"] == "Successful", "the scale-in activity to finish")
    done = activities(aas, "tracked")
    assert {a["StatusCode"] for a in done} == {"Successful"}
    assert done[0]["Description"] == "Setting desired copy count to 1." and "AlarmLow" in done[0]["Cause"]
    assert any("AlarmHigh" in a["Cause"] for a in done[1:])
    assert ask(rt, "tracked") == "good"


def test_registration_bounds_refusals_and_deletion(local: tuple[Any, ...]) -> None:
    sm, _, aas, _, _ = local
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target("no-such-component"), MinCapacity=1, MaxCapacity=2)
    assert code(caught) == "ValidationException"
    component(sm, "bounded", "good")
    aas.register_scalable_target(**target("bounded"), MinCapacity=2, MaxCapacity=3)
    wait_for(lambda: copies(sm, "bounded") == (2, 2), "the minimum of 2 copies")
    wait_for(lambda: activities(aas, "bounded")[0]["StatusCode"] == "Successful", "the activity to finish")
    [activity] = activities(aas, "bounded")
    assert activity["Description"] == "Setting desired copy count to 2."
    assert activity["Cause"] == "minimum capacity was set to 2"
    with pytest.raises(ClientError) as caught:
        aas.put_scaling_policy(
            PolicyName="wrong", **target("bounded"), PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 5.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )  # fmt: skip
    assert code(caught) == "ValidationException"
    sm.delete_inference_component(InferenceComponentName="bounded")
    listed = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[target("bounded")["ResourceId"]])
    assert listed["ScalableTargets"] == []


def test_metrics_per_component(local: tuple[Any, ...]) -> None:
    sm, rt, _, cw, _ = local
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    component(sm, "measured", "good", copies=2)
    component(sm, "erring", "failing")
    for _ in range(6):
        assert ask(rt, "measured") == "good"
    for _ in range(3):
        with pytest.raises(ClientError):
            ask(rt, "erring")
    end = datetime.now(timezone.utc) + timedelta(minutes=1)

    def total(name: str, metric: str, statistic: str = "Sum") -> float:
        found = cw.get_metric_statistics(
            Namespace="AWS/SageMaker", MetricName=metric, StartTime=start, EndTime=end, Period=3600,
            Dimensions=[{"Name": "InferenceComponentName", "Value": name}], Statistics=[statistic],
        )["Datapoints"]  # fmt: skip
        return float(sum(point[statistic] for point in found))

    assert total("measured", "Invocations") == 6
    assert total("measured", "InvocationsPerCopy") == pytest.approx(3.0)
    assert total("measured", "Invocation5XXErrors") == 0
    assert total("measured", "ModelLatency", "SampleCount") == 6
    assert total("measured", "OverheadLatency", "SampleCount") == 6
    assert (total("erring", "Invocations"), total("erring", "Invocation5XXErrors")) == (3, 3)
    assert total("erring", "Invocation4XXErrors") == 0
    answered = cw.get_metric_data(
        StartTime=start, EndTime=end,
        MetricDataQueries=[{"Id": "errors", "MetricStat": {"Period": 3600, "Stat": "Sum", "Metric": {
            "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors",
            "Dimensions": [{"Name": "InferenceComponentName", "Value": "erring"}]}}}],
    )["MetricDataResults"][0]  # fmt: skip
    assert sum(answered["Values"]) == 3
    variant = cw.get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName="Invocations", StartTime=start, EndTime=end, Period=3600,
        Dimensions=[{"Name": "EndpointName", "Value": "hosts"}, {"Name": "VariantName", "Value": "main"}],
        Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    assert sum(p["Sum"] for p in variant) >= 9




def update_to_failing(sm: Any, name: str, alarms: list[str]) -> None:
    deployment: dict[str, Any] = {"RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1}, "WaitIntervalInSeconds": 300}}  # fmt: skip
    if alarms:
        deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    sm.update_inference_component(
        InferenceComponentName=name, Specification={"ModelName": "failing", "ComputeResourceRequirements": SMALL},
        DeploymentConfig=deployment,
    )  # fmt: skip


def test_update_rolls_back_when_a_named_alarm_on_the_component_fires(local: tuple[Any, ...]) -> None:
    sm, rt, _, cw, _ = local
    component(sm, "alarmed", "good", copies=2)
    cw.put_metric_alarm(
        AlarmName="alarmed-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "alarmed"}], Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )  # fmt: skip
    with Traffic(lambda: ask(rt, "alarmed")) as traffic:
        update_to_failing(sm, "alarmed", ["alarmed-5xx"])
        described = settle(sm, "alarmed")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["Specification"]["ModelName"] == "good"
    assert "the CloudWatch alarm alarmed-5xx went into ALARM" in described["FailureReason"]
    assert "ModelError" in traffic.errors and "good" in traffic.labels
    assert {ask(rt, "alarmed") for _ in range(10)} == {"good"}
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 2


def test_update_answering_errors_completes_without_a_named_alarm(local: tuple[Any, ...]) -> None:
    sm, rt, _, cw, _ = local
    component(sm, "unalarmed", "good", copies=2)
    with Traffic(lambda: ask(rt, "unalarmed")) as traffic:
        update_to_failing(sm, "unalarmed", [])
        described = settle(sm, "unalarmed")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["Specification"]["ModelName"] == "failing"
    assert "FailureReason" not in described
    assert "ModelError" in traffic.errors
    with pytest.raises(ClientError) as caught:
        ask(rt, "unalarmed")
    assert code(caught) == "ModelError"

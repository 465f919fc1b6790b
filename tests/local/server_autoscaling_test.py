"""Application Auto Scaling on the local server: every API round trip and refusal,
and real scaling of endpoint variants (target tracking under load, step scaling
through an alarm action, scheduled actions), through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.server_harness import (
    ServerProcess,
    clients,
    cloudwatch,
    create_model,
    deploy,
    invoke_label,
    model_tar,
    wait_for,
    wait_settled,
)

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("autoscaling") / "home").start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def rt(server: ServerProcess) -> Any:
    return clients(server.url)[1]


@pytest.fixture(scope="module")
def aas(server: ServerProcess) -> Any:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return session.client("application-autoscaling", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def target(endpoint: str) -> dict[str, str]:
    return {"ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{endpoint}/variant/primary",
            "ScalableDimension": DIMENSION}  # fmt: skip


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


def instances(sm: Any, endpoint: str) -> tuple[int, int]:
    variant = sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    return variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]



def activities(aas: Any, endpoint: str) -> list[dict[str, Any]]:
    found = aas.describe_scaling_activities(**target(endpoint))["ScalingActivities"]
    return list(found)


def test_targets_and_policies_round_trip(sm: Any, aas: Any, server: ServerProcess, models: Path) -> None:
    deploy(sm, "trip", model_tar(models / "trip", "v1"))
    arn = aas.register_scalable_target(**target("trip"), MinCapacity=1, MaxCapacity=4)["ScalableTargetARN"]
    aas.register_scalable_target(**target("trip"), MaxCapacity=5)
    [found] = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[target("trip")["ResourceId"]])[
        "ScalableTargets"
    ]
    assert (found["MinCapacity"], found["MaxCapacity"], found["ScalableTargetARN"]) == (1, 5, arn)
    policy = aas.put_scaling_policy(
        PolicyName="invocations", **target("trip"), PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 100.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )  # fmt: skip
    assert policy["PolicyARN"].startswith("arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:")
    names = [a["AlarmName"] for a in policy["Alarms"]]
    assert [n.split("-")[-6] for n in names] == ["AlarmHigh", "AlarmLow"]
    cw = cloudwatch(server.url)
    high = cw.describe_alarms(AlarmNames=names[:1])["MetricAlarms"][0]
    assert (high["MetricName"], high["Statistic"], high["Threshold"], high["EvaluationPeriods"]) == (
        "InvocationsPerInstance", "Sum", 100.0, 3
    )
    assert high["AlarmActions"] == [policy["PolicyARN"]]
    [described] = aas.describe_scaling_policies(ServiceNamespace="sagemaker", PolicyNames=["invocations"])["ScalingPolicies"]
    assert described["PolicyType"] == "TargetTrackingScaling" and described["Alarms"] == policy["Alarms"]
    aas.tag_resource(ResourceARN=arn, Tags={"team": "churn"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "churn"}
    aas.deregister_scalable_target(**target("trip"))
    remaining = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target("trip")["ResourceId"] not in {t["ResourceId"] for t in remaining}
    assert aas.describe_scaling_policies(**target("trip"))["ScalingPolicies"] == []
    assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


def test_refusals(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "refusing", model_tar(models / "refusing", "v1"))
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target("no-such-endpoint"), MinCapacity=1, MaxCapacity=2)
    assert code(caught) == "ValidationException"
    missing_variant = {**target("refusing"), "ResourceId": "endpoint/refusing/variant/other"}
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**missing_variant, MinCapacity=1, MaxCapacity=2)
    assert code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target("refusing"), MinCapacity=3, MaxCapacity=2)
    assert code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        aas.put_scaling_policy(PolicyName="p", **target("refusing"), PolicyType="StepScaling",
                               StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity"})  # fmt: skip
    assert code(caught) == "ObjectNotFoundException"
    assert "No scalable target registered for service namespace: sagemaker" in str(caught.value)
    with pytest.raises(ClientError) as caught:
        aas.deregister_scalable_target(**target("refusing"))
    assert code(caught) == "ObjectNotFoundException"
    aas.register_scalable_target(**target("refusing"), MinCapacity=1, MaxCapacity=2)
    with pytest.raises(ClientError) as caught:
        aas.delete_scaling_policy(PolicyName="never-made", **target("refusing"))
    assert code(caught) == "ObjectNotFoundException"
    with pytest.raises(ClientError) as caught:
        aas.put_scheduled_action(ScheduledActionName="nightly", **target("refusing"), Schedule="cron(0 2 * * ? *)")
    assert code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/c/s",
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2)  # fmt: skip
    assert code(caught) == "ValidationException"


def test_registering_brings_capacity_within_bounds(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "bounded", model_tar(models / "bounded", "v1"))
    aas.register_scalable_target(**target("bounded"), MinCapacity=2, MaxCapacity=3)
    wait_for(lambda: instances(sm, "bounded") == (2, 2), "2 instances")
    wait_for(lambda: activities(aas, "bounded")[0]["StatusCode"] == "Successful", "the activity to finish")
    [activity] = activities(aas, "bounded")
    assert activity["Description"] == "Setting desired instance count to 2."
    assert activity["Cause"] == "minimum capacity was set to 2"
    assert activity["StatusMessage"].startswith("Successfully set desired instance count to 2.")
    assert activity["EndTime"] >= activity["StartTime"]


def test_update_endpoint_refuses_instance_type_changes_of_scaled_variants(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "guarded", model_tar(models / "guarded", "v1"))
    aas.register_scalable_target(**target("guarded"), MinCapacity=1, MaxCapacity=2)
    create_model(sm, "guarded-v2", model_tar(models / "guarded-v2", "v2"))
    for name, instance_type in (("guarded-bigger", "ml.m5.xlarge"), ("guarded-v2", "ml.m5.large")):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "primary", "ModelName": "guarded-v2", "InstanceType": instance_type, "InitialInstanceCount": 1}])  # fmt: skip
    sm.create_endpoint_config(EndpointConfigName="guarded-renamed", ProductionVariants=[
        {"VariantName": "renamed", "ModelName": "guarded-v2", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])  # fmt: skip
    for config in ("guarded-bigger", "guarded-renamed"):
        with pytest.raises(ClientError) as caught:
            sm.update_endpoint(EndpointName="guarded", EndpointConfigName=config)
        assert code(caught) == "ValidationException"
        assert 'The variant(s) "[primary]" of endpoint "guarded"' in caught.value.response["Error"]["Message"]
    assert sm.describe_endpoint(EndpointName="guarded")["EndpointStatus"] == "InService"
    sm.update_endpoint(EndpointName="guarded", EndpointConfigName="guarded-v2")  # a new model is allowed
    assert wait_settled(sm, "guarded")["EndpointConfigName"] == "guarded-v2"
    aas.deregister_scalable_target(**target("guarded"))
    sm.update_endpoint(EndpointName="guarded", EndpointConfigName="guarded-bigger")
    assert wait_settled(sm, "guarded")["EndpointConfigName"] == "guarded-bigger"


def test_delete_endpoint_deregisters_its_targets(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "doomed", model_tar(models / "doomed", "v1"))
    aas.register_scalable_target(**target("doomed"), MinCapacity=1, MaxCapacity=2)
    sm.delete_endpoint(EndpointName="doomed")
    remaining = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target("doomed")["ResourceId"] not in {t["ResourceId"] for t in remaining}


def load(rt: Any, endpoint: str, seconds: float, workers: int = 4) -> Callable[[], bool]:
    """Start `workers` threads invoking `endpoint` until `seconds` pass; returns `running()`."""
    deadline = time.monotonic() + seconds
    pool = ThreadPoolExecutor(workers)

    def worker() -> None:
        while time.monotonic() < deadline:
            invoke_label(rt, endpoint)

    futures = [pool.submit(worker) for _ in range(workers)]
    pool.shutdown(wait=False)
    return lambda: not all(f.done() for f in futures)


def test_target_tracking_scales_out_under_load_and_back(sm: Any, rt: Any, aas: Any, server: ServerProcess, models: Path) -> None:
    deploy(sm, "tracked", model_tar(models / "tracked", "v1"))
    aas.register_scalable_target(**target("tracked"), MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(
        PolicyName="per-instance", **target("tracked"), PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 20.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )  # fmt: skip
    running = load(rt, "tracked", seconds=12)
    wait_for(lambda: instances(sm, "tracked")[0] >= 2, "a scale-out under load", timeout=12)
    wait_for(lambda: not running(), "the load to stop", timeout=30)
    wait_for(lambda: instances(sm, "tracked") == (1, 1), "the scale-in after the load", timeout=60)
    wait_for(lambda: activities(aas, "tracked")[0]["StatusCode"] == "Successful", "the scale-in activity to finish")
    done = activities(aas, "tracked")
    assert {a["StatusCode"] for a in done} == {"Successful"}
    assert "AlarmLow" in done[0]["Cause"] and done[0]["Description"] == "Setting desired instance count to 1."
    assert any("AlarmHigh" in a["Cause"] for a in done[1:])

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    command = [str(Path(sys.executable).parent / "aws"), "application-autoscaling", "describe-scaling-activities",
               "--endpoint-url", server.url, "--service-namespace", "sagemaker",
               "--resource-id", "endpoint/tracked/variant/primary", "--output", "json"]  # fmt: skip
    shown = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)["ScalingActivities"]
    assert [a["Description"] for a in listed] == [a["Description"] for a in activities(aas, "tracked")]


def test_step_scaling_through_an_alarm_action(sm: Any, rt: Any, aas: Any, server: ServerProcess, models: Path) -> None:
    deploy(sm, "stepped", model_tar(models / "stepped", "v1"))
    aas.register_scalable_target(**target("stepped"), MinCapacity=1, MaxCapacity=2)
    arn = aas.put_scaling_policy(
        PolicyName="add-one", **target("stepped"), PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                                        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
    )["PolicyARN"]  # fmt: skip
    cloudwatch(server.url).put_metric_alarm(
        AlarmName="stepped-busy", Namespace="AWS/SageMaker", MetricName="Invocations", Statistic="Sum",
        Dimensions=[{"Name": "EndpointName", "Value": "stepped"}, {"Name": "VariantName", "Value": "primary"}],
        Period=60, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[arn],
    )  # fmt: skip
    assert instances(sm, "stepped") == (1, 1)
    running = load(rt, "stepped", seconds=6)
    wait_for(lambda: instances(sm, "stepped") == (2, 2), "the step policy to add an instance", timeout=20)
    wait_for(lambda: not running(), "the load to stop", timeout=30)
    [activity] = activities(aas, "stepped")
    assert activity["Cause"] == "monitor alarm stepped-busy in state ALARM triggered policy add-one"


def test_scheduled_action_sets_bounds_and_capacity(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "scheduled", model_tar(models / "scheduled", "v1"))
    aas.register_scalable_target(**target("scheduled"), MinCapacity=1, MaxCapacity=2)
    at = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    aas.put_scheduled_action(ScheduledActionName="morning", **target("scheduled"), Schedule=f"at({at})",
                             ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 3})  # fmt: skip
    [action] = aas.describe_scheduled_actions(ServiceNamespace="sagemaker", ScheduledActionNames=["morning"])[
        "ScheduledActions"
    ]
    assert action["Schedule"] == f"at({at})" and action["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 3}
    wait_for(lambda: instances(sm, "scheduled") == (2, 2), "the scheduled minimum", timeout=20)
    [found] = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[target("scheduled")["ResourceId"]])[
        "ScalableTargets"
    ]
    assert (found["MinCapacity"], found["MaxCapacity"]) == (2, 3)
    causes = {a["Cause"] for a in activities(aas, "scheduled")}
    assert causes == {"scheduled action name morning was triggered"}
    aas.delete_scheduled_action(ScheduledActionName="morning", **target("scheduled"))
    assert aas.describe_scheduled_actions(ServiceNamespace="sagemaker", ScheduledActionNames=["morning"])[
        "ScheduledActions"
    ] == []


def test_rate_schedule_runs_every_interval(sm: Any, aas: Any, models: Path) -> None:
    deploy(sm, "rated", model_tar(models / "rated", "v1"))
    aas.register_scalable_target(**target("rated"), MinCapacity=1, MaxCapacity=3)
    aas.put_scheduled_action(ScheduledActionName="keep-two", **target("rated"), Schedule="rate(1 minute)",
                             ScalableTargetAction={"MinCapacity": 2})  # fmt: skip
    wait_for(lambda: instances(sm, "rated") == (2, 2), "the scheduled minimum", timeout=20)
    wait_for(lambda: sum(a["Cause"].startswith("scheduled action") for a in activities(aas, "rated")) >= 3,
             "the schedule to run again")  # fmt: skip
    assert instances(sm, "rated") == (2, 2)
    assert all(a["StatusCode"] == "Successful" for a in activities(aas, "rated") if a["StatusCode"] != "InProgress")


def test_targets_policies_and_alarms_survive_a_restart(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "home").start()
    try:
        sm, _ = clients(first.url)
        deploy(sm, "kept", model_tar(tmp_path / "models", "v1"))
        client = boto3.client("application-autoscaling", endpoint_url=first.url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        client.register_scalable_target(**target("kept"), MinCapacity=1, MaxCapacity=2)
        alarms = client.put_scaling_policy(
            PolicyName="tracking", **target("kept"), PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
        )["Alarms"]  # fmt: skip
        assert first.terminate() == 0
        second = ServerProcess(tmp_path / "home", port=first.port).start()
        try:
            assert client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]["MaxCapacity"] == 2
            [policy] = client.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
            assert policy["PolicyName"] == "tracking" and policy["Alarms"] == alarms
            names = [a["AlarmName"] for a in alarms]
            assert len(cloudwatch(second.url).describe_alarms(AlarmNames=names)["MetricAlarms"]) == 2
        finally:
            second.close()
    finally:
        first.close()


def test_customized_metric_specifications_become_the_policy_alarms(
    sm: Any, aas: Any, server: ServerProcess, models: Path
) -> None:
    deploy(sm, "custom", model_tar(models / "custom", "v1"))
    aas.register_scalable_target(**target("custom"), MinCapacity=1, MaxCapacity=2)
    dims = [{"Name": "EndpointName", "Value": "custom"}, {"Name": "VariantName", "Value": "primary"}]
    plain = aas.put_scaling_policy(
        PolicyName="latency", **target("custom"), PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 200000.0, "DisableScaleIn": True,
            "CustomizedMetricSpecification": {"MetricName": "ModelLatency", "Namespace": "AWS/SageMaker",
                                              "Dimensions": dims, "Statistic": "Average"}},
    )  # fmt: skip
    assert [a["AlarmName"].split("-")[-6] for a in plain["Alarms"]] == ["AlarmHigh"]  # scale-in disabled
    cw = cloudwatch(server.url)
    [high] = cw.describe_alarms(AlarmNames=[plain["Alarms"][0]["AlarmName"]])["MetricAlarms"]
    assert (high["MetricName"], high["Statistic"], high["Dimensions"]) == ("ModelLatency", "Average", dims)
    stat = {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors", "Dimensions": dims},
            "Stat": "Sum"}  # fmt: skip
    math = aas.put_scaling_policy(
        PolicyName="errors", **target("custom"), PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 5.0, "CustomizedMetricSpecification": {"Metrics": [
            {"Id": "e", "MetricStat": stat, "ReturnData": False},
            {"Id": "doubled", "Expression": "e * 2", "ReturnData": True}]}},
    )  # fmt: skip
    [low] = cw.describe_alarms(AlarmNames=[math["Alarms"][1]["AlarmName"]])["MetricAlarms"]
    assert [m["Id"] for m in low["Metrics"]] == ["e", "doubled"] and low["Threshold"] == 4.5
    assert low["Metrics"][0]["MetricStat"]["Period"] == 60

"""UpdateEndpoint rollouts with real fleets: blue/green (all at once, canary,
linear), rolling, retained properties, and every kind of rollback."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import (
    BROKEN_CODE,
    FAILING_CODE,
    ServerProcess,
    Traffic,
    alarm_on_5xx,
    cloudwatch,
    create_config,
    create_model,
    deploy,
    invoke_label,
    model_tar,
    wait_settled,
)


@pytest.fixture(scope="module")
def cw(server: ServerProcess) -> Any:
    return cloudwatch(server.url)


def new_config(sm: Any, models: Path, name: str, label: str, code: str | None = None, count: int = 1) -> str:
    """Model and config `name`, serving `label` (or `code`)."""
    tar = model_tar(models / name, label, code) if code else model_tar(models / name, label)
    create_model(sm, name, tar)
    create_config(sm, name, name, count)
    return name


def blue_green(kind: str, wait: int, *, size: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": wait}
    if size and kind == "CANARY":
        routing["CanarySize"] = size
    if size and kind == "LINEAR":
        routing["LinearStepSize"] = size
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **extra}}




def test_update_switches_responses_without_dropping_requests(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "switch", model_tar(models / "switch", "v1"), count=2)
    target = new_config(sm, models, "switch-v2", "v2", count=2)
    with Traffic(lambda: invoke_label(rt, "switch")) as traffic:
        time.sleep(0.2)
        config = blue_green("ALL_AT_ONCE", 50)
        sm.update_endpoint(EndpointName="switch", EndpointConfigName=target, DeploymentConfig=config)
        assert sm.describe_endpoint(EndpointName="switch")["EndpointStatus"] == "Updating"
        described = wait_settled(sm, "switch")
        time.sleep(0.2)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "switch-v2"
    assert "FailureReason" not in described
    assert described["LastDeploymentConfig"] == config
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert traffic.errors == []
    first_v2 = traffic.labels.index("v2")
    assert set(traffic.labels[:first_v2]) == {"v1"} and set(traffic.labels[first_v2:]) == {"v2"}
    assert invoke_label(rt, "switch") == "v2"


def test_rollback_when_the_new_fleet_cannot_start(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "rollback", model_tar(models / "rollback", "v1"))
    target = new_config(sm, models, "rollback-broken", "broken", BROKEN_CODE)
    sm.update_endpoint(EndpointName="rollback", EndpointConfigName=target)
    described = wait_settled(sm, "rollback")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "rollback"
    assert "cannot load this model" in described["FailureReason"]
    assert "PendingDeploymentSummary" not in described
    assert invoke_label(rt, "rollback") == "v1"


def test_update_refused_while_updating(sm: Any, models: Path) -> None:
    deploy(sm, "busy", model_tar(models / "busy", "v1"))
    target = new_config(sm, models, "busy-v2", "v2")
    sm.update_endpoint(EndpointName="busy", EndpointConfigName=target, DeploymentConfig=blue_green("ALL_AT_ONCE", 100))
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName="busy", EndpointConfigName=target)
    assert caught.value.response["Error"]["Message"] == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/busy".'
    )
    assert wait_settled(sm, "busy")["EndpointConfigName"] == "busy-v2"


def test_canary_bakes_a_share_of_traffic(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "canary", model_tar(models / "canary", "v1"), count=2)
    target = new_config(sm, models, "canary-v2", "v2", count=2)
    config = blue_green("CANARY", 300, size={"Type": "CAPACITY_PERCENT", "Value": 25}, TerminationWaitInSeconds=50)
    sm.update_endpoint(EndpointName="canary", EndpointConfigName=target, DeploymentConfig=config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pending = sm.describe_endpoint(EndpointName="canary").get("PendingDeploymentSummary")
        if pending and pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Baking":
            break
        time.sleep(0.05)
    assert pending["EndpointConfigName"] == "canary-v2"
    assert pending["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    counts = Counter(invoke_label(rt, "canary") for _ in range(200))
    assert 20 <= counts["v2"] <= 85, counts
    described = wait_settled(sm, "canary")
    assert described["EndpointConfigName"] == "canary-v2"
    assert {invoke_label(rt, "canary") for _ in range(20)} == {"v2"}


def test_canary_larger_than_half_is_refused(sm: Any, models: Path) -> None:
    deploy(sm, "big-canary", model_tar(models / "big-canary", "v1"))
    target = new_config(sm, models, "big-canary-v2", "v2")
    config = blue_green("CANARY", 10, size={"Type": "INSTANCE_COUNT", "Value": 1})
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName="big-canary", EndpointConfigName=target, DeploymentConfig=config)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert sm.describe_endpoint(EndpointName="big-canary")["EndpointStatus"] == "InService"


def test_linear_steps_through_stages(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "linear", model_tar(models / "linear", "v1"))
    target = new_config(sm, models, "linear-v2", "v2")
    config = blue_green("LINEAR", 100, size={"Type": "CAPACITY_PERCENT", "Value": 50})
    sm.update_endpoint(EndpointName="linear", EndpointConfigName=target, DeploymentConfig=config)
    messages = set()
    mixed: Counter[str] = Counter()
    while (described := sm.describe_endpoint(EndpointName="linear"))["EndpointStatus"] == "Updating":
        pending = described.get("PendingDeploymentSummary")
        if pending:
            status = pending["ProductionVariants"][0]["VariantStatus"][0]
            messages.add(status["StatusMessage"])
            if status["Status"] == "Baking" and "50%" in status["StatusMessage"]:
                mixed[invoke_label(rt, "linear")] += 1
        time.sleep(0.02)
    assert described["EndpointConfigName"] == "linear-v2"
    assert any("50%" in m for m in messages) and any("100%" in m for m in messages)
    assert mixed["v1"] and mixed["v2"], mixed


def test_canary_rolls_back_when_a_named_alarm_fires(sm: Any, rt: Any, cw: Any, models: Path) -> None:
    deploy(sm, "alarmed", model_tar(models / "alarmed", "v1"), count=2)
    target = new_config(sm, models, "alarmed-bad", "bad", FAILING_CODE, count=2)
    config = blue_green("CANARY", 500, size={"Type": "CAPACITY_PERCENT", "Value": 50})
    config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": alarm_on_5xx(cw, "alarmed")}]}
    sm.update_endpoint(EndpointName="alarmed", EndpointConfigName=target, DeploymentConfig=config)
    with Traffic(lambda: invoke_label(rt, "alarmed")) as traffic:
        described = wait_settled(sm, "alarmed")
    assert described["EndpointConfigName"] == "alarmed"
    assert described["FailureReason"] == (
        "Auto-rollback: the CloudWatch alarm alarmed-5xx went into ALARM during the bake."
    )
    assert "ModelError" in traffic.errors
    assert {invoke_label(rt, "alarmed") for _ in range(20)} == {"v1"}
    assert cw.describe_alarms(AlarmNames=["alarmed-5xx"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_canary_answering_errors_completes_without_a_named_alarm(sm: Any, rt: Any, models: Path) -> None:
    """As on SageMaker: errors alone never roll back a healthy new fleet."""
    deploy(sm, "unalarmed", model_tar(models / "unalarmed", "v1"), count=2)
    target = new_config(sm, models, "unalarmed-bad", "bad", FAILING_CODE, count=2)
    config = blue_green("CANARY", 100, size={"Type": "CAPACITY_PERCENT", "Value": 50})
    sm.update_endpoint(EndpointName="unalarmed", EndpointConfigName=target, DeploymentConfig=config)
    with Traffic(lambda: invoke_label(rt, "unalarmed")) as traffic:
        described = wait_settled(sm, "unalarmed")
    assert "ModelError" in traffic.errors
    assert described["EndpointConfigName"] == "unalarmed-bad"
    assert "FailureReason" not in described


def test_only_the_named_alarms_roll_back(sm: Any, rt: Any, cw: Any, models: Path) -> None:
    """An alarm in ALARM that the rollback configuration does not name changes nothing."""
    deploy(sm, "others", model_tar(models / "others", "v1"), count=2)
    target = new_config(sm, models, "others-bad", "bad", FAILING_CODE, count=2)
    alarm_on_5xx(cw, "others")
    quiet = alarm_on_5xx(cw, "no-such-endpoint")
    config = blue_green("CANARY", 100, size={"Type": "CAPACITY_PERCENT", "Value": 50})
    config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": quiet}]}
    sm.update_endpoint(EndpointName="others", EndpointConfigName=target, DeploymentConfig=config)
    with Traffic(lambda: invoke_label(rt, "others")):
        described = wait_settled(sm, "others")
    assert described["EndpointConfigName"] == "others-bad"
    assert cw.describe_alarms(AlarmNames=["others-5xx"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_maximum_execution_timeout_rolls_back(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "timeout", model_tar(models / "timeout", "v1"))
    target = new_config(sm, models, "timeout-v2", "v2")
    config = blue_green("ALL_AT_ONCE", 3600, MaximumExecutionTimeoutInSeconds=600)
    started = time.monotonic()
    sm.update_endpoint(EndpointName="timeout", EndpointConfigName=target, DeploymentConfig=config)
    described = wait_settled(sm, "timeout", timeout=30)
    assert 5.5 < time.monotonic() - started < 20
    assert described["EndpointConfigName"] == "timeout"
    assert "MaximumExecutionTimeoutInSeconds" in described["FailureReason"]
    assert invoke_label(rt, "timeout") == "v1"


def rolling(batch: int, wait: int, **extra: Any) -> dict[str, Any]:
    policy = {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": batch}, "WaitIntervalInSeconds": wait, **extra}
    return {"RollingUpdatePolicy": policy}


def test_rolling_update_in_batches(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "rolling", model_tar(models / "rolling", "v1"), count=3)
    target = new_config(sm, models, "rolling-v2", "v2", count=3)
    with Traffic(lambda: invoke_label(rt, "rolling")) as traffic:
        sm.update_endpoint(EndpointName="rolling", EndpointConfigName=target, DeploymentConfig=rolling(1, 50))
        messages = set()
        while (described := sm.describe_endpoint(EndpointName="rolling"))["EndpointStatus"] == "Updating":
            pending = described.get("PendingDeploymentSummary")
            if pending:
                messages.add(pending["ProductionVariants"][0]["VariantStatus"][0]["StatusMessage"])
            time.sleep(0.02)
    assert described["EndpointConfigName"] == "rolling-v2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert {"Baking 1 of 3 new instance(s) for 50 s.", "Baking 2 of 3 new instance(s) for 50 s."} <= messages
    assert traffic.errors == []
    assert set(traffic.labels) == {"v1", "v2"}


def test_rolling_rollback_restores_the_old_fleet(sm: Any, rt: Any, cw: Any, models: Path) -> None:
    deploy(sm, "rollingback", model_tar(models / "rollingback", "v1"), count=2)
    target = new_config(sm, models, "rollingback-bad", "bad", FAILING_CODE, count=2)
    config = rolling(1, 300, RollbackMaximumBatchSize={"Type": "INSTANCE_COUNT", "Value": 1})
    config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": alarm_on_5xx(cw, "rollingback")}]}
    sm.update_endpoint(EndpointName="rollingback", EndpointConfigName=target, DeploymentConfig=config)
    with Traffic(lambda: invoke_label(rt, "rollingback")):
        described = wait_settled(sm, "rollingback")
    assert described["EndpointConfigName"] == "rollingback"
    assert described["FailureReason"].startswith("Auto-rollback")
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert {invoke_label(rt, "rollingback") for _ in range(20)} == {"v1"}


def test_retained_variant_properties_and_deployment_config(sm: Any, models: Path) -> None:
    deploy(sm, "retain", model_tar(models / "retain", "v1"))
    sm.update_endpoint_weights_and_capacities(
        EndpointName="retain", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}]
    )
    wait_settled(sm, "retain")
    target = new_config(sm, models, "retain-v2", "v2")
    sm.update_endpoint(
        EndpointName="retain", EndpointConfigName=target, RetainAllVariantProperties=True,
        DeploymentConfig=blue_green("ALL_AT_ONCE", 10),
    )  # fmt: skip
    described = wait_settled(sm, "retain")
    assert described["EndpointConfigName"] == "retain-v2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2

    target = new_config(sm, models, "retain-v3", "v3")
    sm.update_endpoint(
        EndpointName="retain", EndpointConfigName=target, RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}], RetainDeploymentConfig=True,
    )  # fmt: skip
    described = wait_settled(sm, "retain")
    assert described["EndpointConfigName"] == "retain-v3"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    routing = described["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["WaitIntervalInSeconds"] == 10


def test_a_config_deleted_after_deployment_keeps_serving(sm: Any, rt: Any, models: Path) -> None:
    deploy(sm, "orphaned", model_tar(models / "orphaned", "v1"))
    sm.delete_endpoint_config(EndpointConfigName="orphaned")
    sm.delete_model(ModelName="orphaned")
    assert invoke_label(rt, "orphaned") == "v1"
    assert sm.describe_endpoint(EndpointName="orphaned")["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert json.dumps(sm.describe_endpoint(EndpointName="orphaned"), default=str)


#: Answers after 0.3 s: requests sent together overlap, so each needs a connection
#: of its own from the local server to a model server.
SLOW_CODE = '''
import os, time

def model_fn(model_dir):
    with open(os.path.join(model_dir, "label.txt")) as handle:
        return handle.read().strip()

def predict_fn(data, model):
    time.sleep(0.3)
    return {"label": model, "input": data}
'''


def together(rt: Any, endpoint: str, count: int = 4) -> list[str]:
    """The label, or the error code, of each of `count` requests sent at once."""

    def one(_: int) -> str:
        try:
            return invoke_label(rt, endpoint)
        except ClientError as error:
            return str(error.response["Error"]["Code"])

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_requests_sent_together_reach_the_serving_model_after_an_update_and_a_rollback(
    sm: Any, rt: Any, models: Path
) -> None:
    """The old and the new deployment of an endpoint never share a model server's
    socket: neither the update's nor the rollback's stopped fleet takes the serving
    fleet's socket with it, and no fleet's requests reach the other fleet's model."""
    deploy(sm, "together", model_tar(models / "together", "v1", SLOW_CODE))
    target = new_config(sm, models, "together-v2", "v2", SLOW_CODE)
    sm.update_endpoint(EndpointName="together", EndpointConfigName=target, DeploymentConfig=blue_green("ALL_AT_ONCE", 1))
    assert wait_settled(sm, "together")["EndpointConfigName"] == target
    assert together(rt, "together") == ["v2"] * 4

    broken = new_config(sm, models, "together-broken", "broken", BROKEN_CODE)
    sm.update_endpoint(EndpointName="together", EndpointConfigName=broken)
    described = wait_settled(sm, "together")
    assert described["EndpointConfigName"] == target
    assert "cannot load this model" in described["FailureReason"]
    assert together(rt, "together") == ["v2"] * 4

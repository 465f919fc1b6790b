"""The production endpoint stack on a moto server: a CloudWatch alarm named in the endpoint's
rollback, and an Application Auto Scaling target with a target tracking policy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from .conftest import ROLE, Aws
from .helpers import REPO, Result, run_cli

STACK = f"""\
provider:
  type: aws
  region: us-east-1
models:
  churn:
    execution_role_arn: {ROLE}
    primary_container:
      image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3
      model_data_url: s3://smstate-examples/churn/model.tar.gz
endpoint_configs:
  churn:
    production_variants:
      - variant_name: primary
        model_name: ${{models.churn.name}}
        instance_type: ml.m5.large
        initial_instance_count: 1
endpoints:
  churn:
    endpoint_config_name: ${{endpoint_configs.churn.name}}
    deployment_config:
      auto_rollback_configuration:
        alarms: [{{alarm_name: "${{alarms.churn-5xx.name}}"}}]
alarms:
  churn-5xx:
    namespace: AWS/SageMaker
    metric_name: Invocation5XXErrors
    dimensions: [{{name: EndpointName, value: "${{endpoints.churn.name}}"}}, {{name: VariantName, value: primary}}]
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 1
    comparison_operator: GreaterThanOrEqualToThreshold
    treat_missing_data: notBreaching
    tags: {{team: risk}}
scaling:
  churn:
    target: {{endpoint: "${{endpoints.churn.name}}", variant: primary}}
    min_capacity: 1
    max_capacity: 4
    policies:
      invocations:
        policy_type: TargetTrackingScaling
        target_tracking_scaling_policy_configuration:
          target_value: 100
          predefined_metric_specification: {{predefined_metric_type: SageMakerVariantInvocationsPerInstance}}
          scale_out_cooldown: 60
          scale_in_cooldown: 300
"""
RESOURCE = "endpoint/churn/variant/primary"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class Stack:
    def __init__(self, directory: Path, aws: Aws, config: str = STACK) -> None:
        self.dir = directory
        self.env = aws.env
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        self.cloudwatch = session.client("cloudwatch", endpoint_url=aws.url)
        self.autoscaling = session.client("application-autoscaling", endpoint_url=aws.url)
        (directory / "smstate.yaml").write_text(config)

    def run(self, *args: str) -> Result:
        return run_cli(args, self.dir, self.env)

    def edit(self, old: str, new: str) -> None:
        path = self.dir / "smstate.yaml"
        assert path.read_text().count(old) == 1
        path.write_text(path.read_text().replace(old, new))

    def alarm(self, name: str = "churn-5xx") -> dict[str, Any] | None:
        found = self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return found[0] if found else None

    def targets(self) -> list[dict[str, Any]]:
        return list(self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"])

    def policies(self) -> list[dict[str, Any]]:
        return list(self.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"])


@pytest.fixture
def stack(tmp_path: Path, aws: Aws) -> Stack:
    made = Stack(tmp_path, aws)
    result = made.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    return made


def test_apply_creates_the_alarm_before_the_endpoint_and_the_target_after_it(stack: Stack, aws: Aws) -> None:
    alarm = stack.alarm()
    assert alarm is not None and alarm["Threshold"] == 1.0
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"EndpointName": "churn", "VariantName": "primary"}
    tags = stack.cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags}["team"] == "risk"
    [target] = stack.targets()
    assert (target["ResourceId"], target["ScalableDimension"], target["MaxCapacity"]) == (RESOURCE, DIMENSION, 4)
    [policy] = stack.policies()
    assert policy["PolicyName"] == "invocations"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 100.0
    rollback = aws.sagemaker.describe_endpoint(EndpointName="churn")
    assert rollback["EndpointStatus"] == "InService"

    again = stack.run("plan", "--detailed-exitcode")
    assert again.code == 0, str(again)
    assert "No changes." in again.out


def test_in_place_changes_overwrite_the_alarm_and_the_target_and_remove_a_dropped_policy(stack: Stack) -> None:
    stack.edit("    threshold: 1\n", "    threshold: 5\n")
    stack.edit("max_capacity: 4", "max_capacity: 6")
    stack.edit("          target_value: 100", "          target_value: 250")
    plan = stack.run("plan")
    assert "~ alarms.churn-5xx" in plan.out and "~ scaling.churn" in plan.out, plan.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in plan.out

    result = stack.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    assert stack.alarm()["Threshold"] == 5.0  # type: ignore[index]
    assert stack.targets()[0]["MaxCapacity"] == 6
    assert stack.policies()[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 250.0

    text = (stack.dir / "smstate.yaml").read_text()
    (stack.dir / "smstate.yaml").write_text(text.split("    policies:")[0])
    result = stack.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    assert stack.policies() == [] and len(stack.targets()) == 1
    assert stack.run("plan", "--detailed-exitcode").code == 0


def test_drift_reports_a_hand_changed_threshold_and_min_capacity(stack: Stack) -> None:
    alarm = stack.alarm()
    assert alarm is not None
    keep = ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
            "ComparisonOperator", "TreatMissingData")
    stack.cloudwatch.put_metric_alarm(**{k: alarm[k] for k in keep}, Threshold=9.0)
    stack.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION, MinCapacity=2
    )

    result = stack.run("drift", "--format", "json")

    assert result.code == 2, str(result)
    found = {d["address"]: d for d in json.loads(result.out)["drift"]}
    assert [(i["path"], i["before"], i["after"]) for i in found["alarms.churn-5xx"]["diff"]] == [("threshold", 1.0, 9.0)]
    assert [(i["path"], i["before"], i["after"]) for i in found["scaling.churn"]["diff"]] == [("min_capacity", 1, 2)]
    fixed = stack.run("apply", "--auto-approve")
    assert fixed.code == 0, str(fixed)
    assert stack.alarm()["Threshold"] == 1.0  # type: ignore[index]
    assert stack.targets()[0]["MinCapacity"] == 1


def test_a_changed_instance_type_plans_the_deregistration_with_its_reason(stack: Stack) -> None:
    stack.edit("instance_type: ml.m5.large", "instance_type: ml.c5.xlarge")

    result = stack.run("plan", "--json")

    assert result.code == 0, str(result)
    changes = {c["address"]: c for c in json.loads(result.out)["changes"]}
    target = changes["scaling.churn"]
    assert target["action"] == "replace"
    assert target["reason"] == (
        "endpoints.churn changes the instance_type of variant primary (ml.m5.large -> ml.c5.xlarge): "
        "DeregisterScalableTarget before that update, RegisterScalableTarget again once it is ready"
    )
    assert changes["endpoints.churn"]["action"] == "update"


def test_destroy_leaves_no_target_policy_or_alarm(stack: Stack, aws: Aws) -> None:
    result = stack.run("destroy", "--auto-approve")

    assert result.code == 0, str(result)
    assert "Destroy complete! Resources: 0 added, 0 changed, 5 destroyed." in result.out
    assert stack.alarm() is None and stack.targets() == [] and stack.policies() == []
    assert aws.endpoint_names() == []


def test_drift_and_rollout_status_show_alarm_states_and_scaling_state(stack: Stack) -> None:
    stack.cloudwatch.set_alarm_state(AlarmName="churn-5xx", StateValue="ALARM", StateReason="5xx seen")

    drift = stack.run("drift", "--format", "json")
    assert drift.code == 0, str(drift)
    watched = {w["address"]: w for w in json.loads(drift.out)["watched"]}
    assert (watched["alarms.churn-5xx"]["state"], watched["alarms.churn-5xx"]["reason"]) == ("ALARM", "5xx seen")
    scaling = watched["scaling.churn"]
    assert (scaling["min_capacity"], scaling["max_capacity"], scaling["current_capacity"]) == (1, 4, 1)

    status = stack.run("rollout", "status", "endpoints.churn")
    assert status.code == 0, str(status)
    assert "alarms.churn-5xx (churn-5xx): ALARM - 5xx seen" in status.out
    assert f"scaling.churn ({RESOURCE}|{DIMENSION}): 1 current, 1 desired, min 1, max 4" in status.out


def test_hand_made_alarms_and_targets_are_imported_with_generated_config(tmp_path: Path, aws: Aws) -> None:
    stack = Stack(tmp_path, aws)
    (tmp_path / "smstate.yaml").write_text("provider: {type: aws, region: us-east-1}\n")
    stack.cloudwatch.put_metric_alarm(
        AlarmName="hand-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=2.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    stack.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId="endpoint/hand/variant/primary", ScalableDimension=DIMENSION,
        MinCapacity=1, MaxCapacity=3,
    )  # fmt: skip

    result = stack.run("import", "--generate-config", "hand.smstate.yaml", "--type", "alarms", "--type", "scaling")

    assert result.code == 0, str(result)
    text = (tmp_path / "hand.smstate.yaml").read_text()
    assert "hand-5xx:" in text and "threshold: 2.0" in text
    assert "endpoint: hand" in text and "max_capacity: 3" in text
    shown = stack.run("state", "show", "alarms.hand-5xx")
    assert shown.code == 0 and json.loads(shown.out)["physical_name"] == "hand-5xx"
    again = stack.run("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, str(again)


def test_the_autoscaling_example_applies_re_plans_clean_and_destroys_on_moto(tmp_path: Path, aws: Aws) -> None:
    example = tmp_path / "autoscaling"
    shutil.copytree(REPO / "examples" / "autoscaling", example, ignore=shutil.ignore_patterns("build", "state"))
    subprocess.run([sys.executable, str(example / "build.py")], check=True, capture_output=True)
    text = (example / "smstate.yaml").read_text()
    local = "provider:\n  type: local\n  url: http://127.0.0.1:8767     # its own port: never collides with the other examples\n"
    assert text.count(local) == 1
    stack = Stack(example, aws, text.replace(local, "provider: {type: aws, region: us-east-1, artifact_bucket: examples}\n"))
    boto3.client("s3", endpoint_url=aws.url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="examples")  # fmt: skip

    applied = stack.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    assert "Apply complete! Resources: 5 added" in applied.out
    assert stack.run("plan", "--detailed-exitcode").code == 0
    destroyed = stack.run("destroy", "--auto-approve")
    assert destroyed.code == 0, str(destroyed)
    assert aws.endpoint_names() == [] and aws.model_names() == []
    assert stack.alarm("scorer-5xx") is None and stack.targets() == [] and stack.policies() == []


def test_the_canary_example_creates_its_metric_math_alarm_before_the_endpoint_on_moto(tmp_path: Path, aws: Aws) -> None:
    example = tmp_path / "blue-green-canary"
    shutil.copytree(REPO / "examples" / "blue-green-canary", example, ignore=shutil.ignore_patterns("build", "state"))
    subprocess.run([sys.executable, str(example / "build.py")], check=True, capture_output=True)
    text = (example / "smstate.yaml").read_text()
    local = "provider:\n  type: local\n  url: http://127.0.0.1:8766     # its own port: never collides with the quickstart's 8765\n"
    assert text.count(local) == 1
    stack = Stack(example, aws, text.replace(local, "provider: {type: aws, region: us-east-1, artifact_bucket: examples}\n"))
    boto3.client("s3", endpoint_url=aws.url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="examples")  # fmt: skip

    applied = stack.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    assert applied.out.index("alarms.scorer-5xx-rate: Creation complete") < applied.out.index("endpoints.scorer: Creating")
    alarm = stack.alarm("scorer-5xx-rate")
    assert alarm is not None
    assert [m["Id"] for m in alarm["Metrics"]] == ["errors", "invocations", "rate"]
    assert alarm["Metrics"][2]["Expression"] == "errors / invocations * 100"
    assert stack.run("plan", "--detailed-exitcode").code == 0
    destroyed = stack.run("destroy", "--auto-approve")
    assert destroyed.code == 0, str(destroyed)
    assert stack.alarm("scorer-5xx-rate") is None and aws.endpoint_names() == []

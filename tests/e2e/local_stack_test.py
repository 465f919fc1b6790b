"""The production endpoint stack on the local target, through the smstate CLI and the AWS CLI:
`examples/autoscaling` scales out under its traffic script and back in once it stops, and an
instance-type change of a scaled variant runs as deregister / update / register."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.helpers import Result, cli_env, run_cli
from tests.local.server_harness import REPO, clients, free_port, wait_for

#: A policy minute takes 3 s: the example's 60 s periods and 60/120 s cooldowns run in seconds.
TIME_SCALE = "0.05"
RESOURCE = "endpoint/scorer/variant/primary"
AWS = str(Path(sys.executable).parent / "aws")


class Example:
    """examples/autoscaling copied into a tmp dir, built, on a free port with a private home."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "autoscaling"
        shutil.copytree(REPO / "examples" / "autoscaling", self.dir, ignore=shutil.ignore_patterns("build", "state"))
        subprocess.run([sys.executable, str(self.dir / "build.py")], check=True, capture_output=True)
        self.url = f"http://127.0.0.1:{free_port()}"
        config = self.dir / "smstate.yaml"
        config.write_text(config.read_text().replace("http://127.0.0.1:8767", self.url, 1))
        home = str(tmp_path / "home")
        self.env = cli_env(None, {"SMSTATE_LOCAL_HOME": home, "SMSTATE_LOCAL_TIME_SCALE": TIME_SCALE})

    def run(self, *args: str) -> Result:
        return run_cli(args, self.dir, self.env, timeout=180)

    def aws(self, *args: str) -> Any:
        """The AWS CLI against the local server; its JSON answer."""
        command = [AWS, "--endpoint-url", self.url, "--region", "us-east-1", "--output", "json", *args]
        shown = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=60)
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)

    def status(self) -> dict[str, Any]:
        result = self.run("rollout", "status", "scorer", "--json")
        assert result.code == 0, str(result)
        report: dict[str, Any] = json.loads(result.out)
        return report


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Example]:
    work = Example(tmp_path)
    yield work
    run_cli(["local", "stop"], work.dir, work.env)



def instances(report: dict[str, Any]) -> int:
    return int(report["traffic"][0]["instances"])


def test_the_autoscaling_example_scales_out_under_traffic_and_back_in(example: Example) -> None:
    applied = example.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    first = example.status()
    assert instances(first) == 1
    watched = {w["address"]: w for w in first["watched"]}
    assert watched["alarms.scorer-5xx"]["state"] == "OK"
    assert (watched["scaling.scorer"]["min_capacity"], watched["scaling.scorer"]["max_capacity"]) == (1, 3)

    traffic = [sys.executable, "traffic.py", "scorer", "--url", example.url, "--requests", "1500", "--threads", "8"]
    load = subprocess.Popen(traffic, cwd=example.dir, env=example.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: instances(example.status()) >= 2, "a scale-out under the traffic script", timeout=240, every=0.5)
    finally:
        out, err = load.communicate(timeout=300)
    assert load.returncode == 0, (out, err)
    wait_for(lambda: instances(example.status()) == 1, "the scale-in once the traffic stopped", timeout=240, every=0.5)

    scaled = {w["address"]: w for w in example.status()["watched"]}["scaling.scorer"]
    assert (scaled["current_capacity"], scaled["desired_capacity"]) == (1, 1)
    assert scaled["last_activity"]["description"] == "Setting desired instance count to 1."
    found = example.aws("application-autoscaling", "describe-scaling-activities", "--service-namespace", "sagemaker",
                        "--resource-id", RESOURCE)["ScalingActivities"]  # fmt: skip
    assert "AlarmLow" in found[0]["Cause"] and found[0]["StatusCode"] == "Successful"
    outs = [a for a in found if "AlarmHigh" in a["Cause"]]
    assert outs and all(a["StatusCode"] == "Successful" for a in outs)
    assert max(int(a["Description"].split()[-1].rstrip(".")) for a in outs) >= 2

    now = datetime.now(timezone.utc)
    stats = example.aws(
        "cloudwatch", "get-metric-statistics", "--namespace", "AWS/SageMaker", "--metric-name", "Invocations",
        "--dimensions", "Name=EndpointName,Value=scorer", "Name=VariantName,Value=primary", "--statistics", "Sum",
        "--period", "60", "--start-time", (now - timedelta(hours=1)).isoformat(), "--end-time", now.isoformat(),
    )  # fmt: skip
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 1500

    drift = example.run("drift", "--format", "json")
    assert drift.code == 0, str(drift)
    watched = {w["address"]: w for w in json.loads(drift.out)["watched"]}
    assert watched["alarms.scorer-5xx"]["state"] == "OK"
    assert watched["scaling.scorer"]["current_capacity"] == 1
    assert "Setting desired instance count to 1." in watched["scaling.scorer"]["last_activity"]["description"]

    destroyed = example.run("destroy", "--auto-approve")
    assert destroyed.code == 0, str(destroyed)
    assert example.aws("application-autoscaling", "describe-scalable-targets", "--service-namespace",
                       "sagemaker")["ScalableTargets"] == []  # fmt: skip
    assert example.aws("cloudwatch", "describe-alarms")["MetricAlarms"] == []


def test_an_instance_type_change_of_a_scaled_variant_deregisters_updates_and_registers_again(example: Example) -> None:
    """The local server refuses UpdateEndpoint on a registered variant's instance type, as AWS does:
    the apply succeeds only because smstate deregistered the target first."""
    config = example.dir / "smstate.yaml"
    config.write_text(config.read_text().replace("min_capacity: 1", "min_capacity: 2", 1))
    applied = example.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    sm, _ = clients(example.url)
    wait_for(lambda: instances(example.status()) == 2, "the variant brought within the target's bounds", timeout=60, every=0.5)

    config.write_text(config.read_text().replace("instance_type: ml.m5.large", "instance_type: ml.c5.xlarge", 1))
    planned = example.run("plan", "--json")
    assert planned.code == 0, str(planned)
    changes = {c["address"]: c for c in json.loads(planned.out)["changes"]}
    assert changes["scaling.scorer"]["action"] == "replace"
    assert changes["scaling.scorer"]["reason"] == (
        "endpoints.scorer changes the instance_type of variant primary (ml.m5.large -> ml.c5.xlarge): "
        "DeregisterScalableTarget before that update, RegisterScalableTarget again once it is ready"
    )
    assert changes["endpoints.scorer"]["action"] == "update"
    shown = example.run("plan")
    assert "DeregisterScalableTarget before that update, RegisterScalableTarget again" in shown.out, str(shown)

    applied = example.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    steps = [line for line in applied.out.splitlines() if line.startswith(("scaling.scorer: ", "endpoints.scorer: "))]
    first, last = steps[0], steps[-1]
    assert first.startswith("scaling.scorer: ") and last.startswith("scaling.scorer: "), steps  # around the update
    assert any(line.startswith("endpoints.scorer: Modifications complete") for line in steps), steps
    described = sm.describe_endpoint(EndpointName="scorer")
    live_config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    assert live_config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2  # the config says 1: the scaled count is kept
    aas = boto3.client("application-autoscaling", endpoint_url=example.url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    (target,) = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RESOURCE, 2, 3)
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["invocations"]
    assert example.run("plan", "--detailed-exitcode").code == 0

    released = example.run("apply", "--auto-approve", "--var", "artifact=./build/v2.tar.gz")
    assert released.code == 0, str(released)
    described = sm.describe_endpoint(EndpointName="scorer")
    assert described["EndpointConfigName"] != live_config["EndpointConfigName"]
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2

    destroyed = example.run("destroy", "--auto-approve")
    assert destroyed.code == 0, str(destroyed)
    out = destroyed.out
    assert out.index("scaling.scorer: Destruction complete") < out.index("endpoints.scorer: Destroying")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []

"""Endpoint rollouts driven by `smstate apply` against the local SageMaker.

The CLI runs as a subprocess against a local server whose waits run at
`TIME_SCALE` of the policy's seconds, while client threads invoke the endpoint
the way production traffic would. Traffic shares are checked per rollout stage:
a poller records which stage DescribeEndpoint reported when, and a response
counts towards a stage only if its request started and ended between two polls
that both saw that stage. No assertion depends on how long anything took.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import Result, assert_clean_failure, cli_env, read_state, run_cli
from tests.local.server_harness import (
    BROKEN_CODE,
    ServerProcess,
    clients,
    cloudwatch,
    model_tar,
    wait_settled,
)

#: Policy seconds run 50 times faster: a 100 s bake takes 2 s.
TIME_SCALE = "0.02"

#: Answers 500 (its predict_fn raises) for every other request an instance serves.
HALF_FAILING_CODE = '''
import itertools, os

_calls = itertools.count()

def model_fn(model_dir):
    with open(os.path.join(model_dir, "label.txt")) as handle:
        return handle.read().strip()

def predict_fn(data, model):
    if next(_calls) % 2:
        raise RuntimeError("every other request fails")
    return {"label": model, "input": data}
'''

CONFIG = """\
provider: {{type: local, url: "{url}"}}
models:
  {name}:
    primary_container:
      image: local/echo
      model_data_url: ./models/{label}.tar.gz
      environment: {{SAGEMAKER_PROGRAM: inference.py}}
endpoint_configs:
  {name}:
    production_variants:
      - {{variant_name: primary, model_name: "${{models.{name}.name}}", instance_type: ml.m5.large, initial_instance_count: {count}}}
endpoints:
  {name}:
    endpoint_config_name: ${{endpoint_configs.{name}.name}}
    deployment_config:
      blue_green_update_policy:
        traffic_routing_configuration: {routing}
        termination_wait_in_seconds: 10
{extra}"""

CANARY = "{type: CANARY, canary_size: {type: CAPACITY_PERCENT, value: 25}, wait_interval_in_seconds: %d}"
LINEAR = "{type: LINEAR, linear_step_size: {type: CAPACITY_PERCENT, value: 25}, wait_interval_in_seconds: %d}"
ALARMED = """\
      auto_rollback_configuration: {{alarms: [{{alarm_name: "${{alarms.{name}-5xx.name}}"}}]}}
alarms:
  {name}-5xx:
    namespace: AWS/SageMaker
    metric_name: Invocation5XXErrors
    dimensions: [{{name: EndpointName, value: "${{endpoints.{name}.name}}"}}, {{name: VariantName, value: primary}}]
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 1
    comparison_operator: GreaterThanOrEqualToThreshold
    treat_missing_data: notBreaching
"""
"""The endpoint's rollback names an alarm on any 5xx of its variant within a minute, declared beside it."""
CAPACITY = (
    "    retain_all_variant_properties: true\n"
    "    lifecycle:\n"
    "      ignore_changes: [\"production_variants[*].current_instance_count\","
    " \"production_variants[*].desired_instance_count\"]\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("rollout") / "home", SMSTATE_LOCAL_TIME_SCALE=TIME_SCALE).start()
    yield proc
    proc.close()


@dataclass
class Project:
    """One endpoint `name` (with model and config of the same logical name) in a tmp dir."""

    dir: Path
    server: ServerProcess
    name: str
    routing: str
    count: int = 1
    extra: str = ""
    env: dict[str, str] = field(default_factory=lambda: cli_env(None))

    def write(self, label: str, code: str | None = None) -> None:
        """Point the model at the artifact serving `label` (with `code`, or the echo model),
        made once: rebuilding it would change its bytes, so its model's name."""
        if not (self.dir / "models" / f"{label}.tar.gz").exists():
            model_tar(self.dir / "models", label, **({"code": code} if code else {}))
        self.dir.joinpath("smstate.yaml").write_text(
            CONFIG.format(
                url=self.server.url, name=self.name, label=label, count=self.count, routing=self.routing, extra=self.extra
            )
        )

    def run(self, *args: str) -> Result:
        return run_cli(args, self.dir, self.env, timeout=120)

    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = read_state(self.dir)["resources"]
        return resources

    def physical(self, kind: str) -> str:
        return str(self.resources()[f"{kind}.{self.name}"]["physical_name"])


def deployed(tmp_path: Path, server: ServerProcess, name: str, routing: str, **more: Any) -> Project:
    """`name` applied on v1, answering."""
    project = Project(tmp_path, server, name, routing, **more)
    project.write("v1")
    first = project.run("apply", "--auto-approve")
    assert first.code == 0, str(first)
    return project


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    label: str | None
    error: str | None


@dataclass(frozen=True)
class Poll:
    start: float
    end: float
    stage: str


class Load:
    """Client threads invoking `endpoint` in a loop, and a poller of its rollout stage.

    Every response is recorded with the times its request started and ended; every
    DescribeEndpoint poll with its times and the stage it reported.
    """

    def __init__(self, url: str, endpoint: str, threads: int = 3) -> None:
        self.sagemaker, self.runtime = clients(url)
        self.endpoint = endpoint
        self.samples: list[Sample] = []
        self.polls: list[Poll] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._invoke, daemon=True) for _ in range(threads)]
        self._threads.append(threading.Thread(target=self._poll, daemon=True))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _invoke(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                response = self.runtime.invoke_endpoint(
                    EndpointName=self.endpoint, Body=b"1", ContentType="application/json"
                )
                label, error = str(json.loads(response["Body"].read())["label"]), None
            except ClientError as exc:
                label, error = None, exc.response["Error"]["Code"]
            self.samples.append(Sample(start, time.monotonic(), label, error))

    def _poll(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            described = self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
            statuses = [
                s.get("StatusMessage", "")
                for v in (described.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
                for s in v.get("VariantStatus", [])
            ]
            self.polls.append(Poll(start, time.monotonic(), " ".join(statuses) or described["EndpointStatus"]))
            time.sleep(0.05)

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error]

    def labels_by_stage(self) -> dict[str, list[str]]:
        """Labels of the responses certainly served within each stage, by stage text."""
        found: dict[str, list[str]] = {}
        polls = sorted(self.polls, key=lambda p: p.start)
        for before, after in zip(polls, polls[1:]):
            if before.stage != after.stage:
                continue
            found.setdefault(before.stage, []).extend(
                s.label for s in self.samples if s.label and s.start >= before.end and s.end <= after.start
            )
        return found

    def baking_shares(self, new: str) -> list[tuple[int, int, float]]:
        """(percent the stage routes to the new fleet, responses, share from `new`) per Baking stage, in order."""
        shares = []
        for stage, labels in self.labels_by_stage().items():
            match = re.search(r"Baking with (\d+)% of traffic", stage)
            if match and labels:
                shares.append((int(match[1]), len(labels), labels.count(new) / len(labels)))
        return sorted(shares)


def assert_follows_steps(load: Load, steps: list[int], old: str = "v1", new: str = "v2") -> None:
    """Every step was baked with enough responses, each step's share of `new` is within
    5 standard deviations (the router picks each request's fleet at random) of the step's
    percentage, 100 % means all of them, and nothing came from `new` before the update."""
    shares = load.baking_shares(new)
    assert [percent for percent, _, _ in shares] == steps, shares
    for percent, count, share in shares:
        assert count >= 40, f"too few responses to judge the {percent}% step: {shares}"
        expected = percent / 100
        tolerance = 5 * math.sqrt(expected * (1 - expected) / count)
        assert abs(share - expected) <= tolerance, f"{percent}% step: share {share:.2f} of {count}: {shares}"
    first_update = min(p.start for p in load.polls if p.stage != "InService")
    assert {s.label for s in load.samples if s.end < first_update} == {old}
    last = max(p.end for p in load.polls if p.stage != "InService")
    assert {s.label for s in load.samples if s.start > last} == {new}


def assert_stage_lines(out: str, *needles: str) -> None:
    """The apply progress printed DescribeEndpoint's stage text."""
    stage_lines = [line for line in out.splitlines() if "Still modifying" in line and "Updating - " in line]
    for needle in needles:
        assert any(needle in line for line in stage_lines), f"no stage line with {needle!r}:\n{out}"


def destroy(project: Project) -> None:
    gone = project.run("destroy", "--auto-approve")
    assert gone.code == 0, str(gone)


def test_canary_rollout_under_load_follows_the_canary_share(tmp_path: Path, server: ServerProcess) -> None:
    project = deployed(tmp_path, server, "canary", CANARY % 100, count=2)
    project.write("v2")
    with Load(server.url, "canary") as load:
        result = project.run("apply", "--auto-approve")
        time.sleep(0.2)
    assert result.code == 0, str(result)
    assert load.errors == []
    assert_follows_steps(load, [25, 100])
    assert_stage_lines(result.out, "Baking with 25% of traffic")
    destroy(project)


def test_linear_rollout_under_load_follows_the_steps(tmp_path: Path, server: ServerProcess) -> None:
    project = deployed(tmp_path, server, "linear", LINEAR % 60, count=2)
    project.write("v2")
    with Load(server.url, "linear") as load:
        result = project.run("apply", "--auto-approve")
        time.sleep(0.2)
    assert result.code == 0, str(result)
    assert load.errors == []
    assert_follows_steps(load, [25, 50, 75, 100])
    assert_stage_lines(result.out, "Baking with")
    destroy(project)


def assert_rolled_back(project: Project, result: Result, reason: str, old: dict[str, str]) -> None:
    """Exit 1 with one Error line naming the endpoint, the rollback and `reason`, the stages
    under it; state, the old config and its model as before; plan offers the update again."""
    joined = assert_clean_failure(result, f"endpoints.{project.name}", f"rolled back to {old['config']}", reason)
    block = result.err[result.err.index(joined) :]
    assert re.search(r"\n  stages: Updating.* -> .*InService", block), result.err
    endpoint = project.resources()[f"endpoints.{project.name}"]
    assert endpoint["attributes"]["endpoint_config_name"] == old["config"]
    sm, rt = clients(project.server.url)
    assert sm.describe_endpoint(EndpointName=project.name)["EndpointConfigName"] == old["config"]
    assert sm.describe_endpoint_config(EndpointConfigName=old["config"])["ProductionVariants"][0]["ModelName"] == old["model"]
    assert sm.describe_model(ModelName=old["model"])["ModelName"] == old["model"]
    labels = {json.loads(rt.invoke_endpoint(EndpointName=project.name, Body=b"1")["Body"].read())["label"] for _ in range(10)}
    assert labels == {"v1"}
    planned = project.run("plan", "--json", "--detailed-exitcode")
    assert planned.code == 2, str(planned)
    changes = {c["address"]: c for c in json.loads(planned.out)["changes"]}
    assert changes[f"endpoints.{project.name}"]["action"] == "update"
    diff = {d["path"]: d["before"] for d in changes[f"endpoints.{project.name}"]["diff"]}
    assert diff["endpoint_config_name"] == old["config"]


def test_model_that_cannot_load_rolls_back(tmp_path: Path, server: ServerProcess) -> None:
    project = deployed(tmp_path, server, "broken", CANARY % 100)
    old = {"config": project.physical("endpoint_configs"), "model": project.physical("models")}
    project.write("broken", BROKEN_CODE)
    result = project.run("apply", "--auto-approve")
    assert_rolled_back(project, result, "cannot load this model", old)

    status = project.run("rollout", "status", "broken")
    assert status.code == 0, str(status)
    assert f"Endpoint broken: InService on {old['config']}" in status.out
    assert "primary: 100% (1 instances)" in status.out
    assert re.search(r"Last failure: .*cannot load this model", status.out), status.out
    as_json = project.run("rollout", "status", "broken", "--json")
    assert as_json.code == 0, str(as_json)
    report = json.loads(as_json.out)
    assert report["status"] == "InService" and report["endpoint_config_name"] == old["config"]
    assert report["traffic"] == [{"variant": "primary", "share": 1.0, "instances": 1}]
    assert "cannot load this model" in report["last_failure"]
    assert report["pending_endpoint_config_name"] is None and report["stages"] == []
    destroy(project)


def test_named_5xx_alarm_rolls_back(tmp_path: Path, server: ServerProcess) -> None:
    """The config declares the alarm and names it in auto_rollback_configuration."""
    project = deployed(tmp_path, server, "flaky", CANARY % 300, count=2, extra=ALARMED.format(name="flaky"))
    cw = cloudwatch(server.url)
    assert project.resources()["alarms.flaky-5xx"]["physical_name"] == "flaky-5xx"
    assert cw.describe_alarms(AlarmNames=["flaky-5xx"])["MetricAlarms"][0]["StateValue"] == "OK"
    old = {"config": project.physical("endpoint_configs"), "model": project.physical("models")}
    project.write("flaky", HALF_FAILING_CODE)
    with Load(server.url, "flaky") as load:
        result = project.run("apply", "--auto-approve")
    assert_rolled_back(project, result, "Auto-rollback", old)
    assert "the CloudWatch alarm flaky-5xx went into ALARM during the bake" in result.err
    assert set(load.errors) == {"ModelError"}
    assert {s.label for s in load.samples if s.label} <= {"v1", "flaky"}
    destroy(project)
    assert cw.describe_alarms(AlarmNames=["flaky-5xx"])["MetricAlarms"] == []


def test_errors_without_a_named_alarm_complete(tmp_path: Path, server: ServerProcess) -> None:
    """As on SageMaker: a healthy new fleet that answers 5xx completes when no alarm is named."""
    project = deployed(tmp_path, server, "unwatched", CANARY % 100, count=2)
    project.write("unwatched", HALF_FAILING_CODE)
    with Load(server.url, "unwatched") as load:
        result = project.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    assert "ModelError" in load.errors
    sm, _ = clients(server.url)
    assert sm.describe_endpoint(EndpointName="unwatched")["EndpointConfigName"] == project.physical("endpoint_configs")
    destroy(project)


def test_autoscaled_capacity_survives_an_update(tmp_path: Path, server: ServerProcess) -> None:
    project = deployed(tmp_path, server, "scaled", CANARY % 25, extra=CAPACITY)
    sm, _ = clients(server.url)
    sm.update_endpoint_weights_and_capacities(
        EndpointName="scaled", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 3}]
    )
    assert wait_settled(sm, "scaled")["ProductionVariants"][0]["CurrentInstanceCount"] == 3

    planned = project.run("plan", "--detailed-exitcode")
    assert planned.code == 0, str(planned)
    assert "No changes." in planned.out and "instance_count" not in planned.out, str(planned)
    drift = project.run("drift")
    assert drift.code == 0, str(drift)

    project.write("v2")
    result = project.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    described = sm.describe_endpoint(EndpointName="scaled")
    assert described["EndpointConfigName"] == project.physical("endpoint_configs")
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert project.run("plan", "--detailed-exitcode").code == 0

    project.extra = ""
    project.write("v2")
    sm.update_endpoint_weights_and_capacities(
        EndpointName="scaled", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}]
    )
    wait_settled(sm, "scaled")
    drift = project.run("drift", "--format", "json")
    assert drift.code == 2, str(drift)
    (item,) = json.loads(drift.out)["drift"]
    assert item["address"] == "endpoints.scaled" and item["kind"] == "modified"
    paths = {d["path"]: (d["before"], d["after"]) for d in item["diff"]}
    assert paths["production_variants[0].current_instance_count"] == (3, 2), paths
    destroy(project)


def test_timeout_leaves_state_consistent(tmp_path: Path, server: ServerProcess) -> None:
    project = deployed(tmp_path, server, "slow", CANARY % 150)
    old = {"config": project.physical("endpoint_configs"), "model": project.physical("models")}
    project.write("v2")
    result = project.run("apply", "--auto-approve", "--timeout", "1s")
    joined = assert_clean_failure(result, "endpoints.slow", "timed out after 1s", "next plan re-reads it")
    assert "Apply complete" not in result.out
    sm, _ = clients(server.url)
    assert sm.describe_endpoint(EndpointName="slow")["EndpointStatus"] == "Updating", joined
    assert sm.describe_endpoint_config(EndpointConfigName=old["config"])
    assert sm.describe_model(ModelName=old["model"])
    resources = project.resources()
    assert resources["endpoints.slow"]["attributes"]["endpoint_config_name"] == old["config"]
    assert [d["physical_name"] for d in resources["endpoint_configs.slow"]["deposed"]] == [old["config"]]
    assert [d["physical_name"] for d in resources["models.slow"]["deposed"]] == [old["model"]]

    planned = project.run("plan", "--json")
    assert planned.code == 0, str(planned)
    actions = {(c["address"], c["action"]) for c in json.loads(planned.out)["changes"]}
    # The old config and model are still live (the endpoint serves from them): their deletion is
    # planned after the endpoint's update, and skipped if that update fails or rolls back.
    deletes = {("endpoint_configs.slow", "delete"), ("models.slow", "delete")}
    # The rollout may have finished in SageMaker since the timeout: then only the deletes remain.
    assert actions in (deletes | {("endpoints.slow", "update")}, deletes), actions

    wait_settled(sm, "slow")
    finished = project.run("apply", "--auto-approve")
    assert finished.code == 0 and "2 destroyed" in finished.out, str(finished)
    assert sm.describe_endpoint(EndpointName="slow")["EndpointConfigName"] == project.physical("endpoint_configs")
    again = project.run("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, str(again)
    destroy(project)

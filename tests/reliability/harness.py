"""What the reliability tests share: the two targets, their configs, and the checks run after each ordeal.

A *target* is a SageMaker API smstate can be pointed at through a `FaultProxy`: the embedded
local server (which hosts the endpoints for real) or a moto server. Each has two configs,
A and B, so that going A -> B -> destroy walks every path of the executor: create, replace
(create-before-destroy, deposed objects), in-place update, endpoint update, tag change and
delete. The checks read the account straight from the API, never through the proxy.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from smstate.backends import Backend
from smstate.backends.local import LocalBackend
from smstate.backends.s3 import S3Backend
from smstate.cli import main
from smstate.drift import Found, unmanaged
from smstate.resources import OWNER_LINEAGE_TAG
from smstate.state import State
from tests.e2e.helpers import CLI, Result, cli_env, run_cli, state_path
from tests.local.server_harness import model_tar

from .proxy import FaultProxy

ROLE = "arn:aws:iam::123456789012:role/smstate-reliability"
_WORKDIRS = itertools.count(1)

_ECHO = "{image: local/echo, model_data_url: ./models/echo.tar.gz, environment: {SAGEMAKER_PROGRAM: inference.py, X: %s}}"
_S3 = '{image: "img:1", model_data_url: "s3://bucket/%s.tar.gz"}'
_POLICY = """
    deployment_config:
      blue_green_update_policy:
        traffic_routing_configuration: {type: ALL_AT_ONCE, wait_interval_in_seconds: 0}
        termination_wait_in_seconds: 0"""


def _models(container: str, versions: dict[str, str], role: str = "") -> str:
    lines = ["models:"]
    for name, version in versions.items():
        lines.append(f"  {name}:{role}\n    primary_container: {container % version}")
    return "\n".join(lines) + "\n"


def _configs(names: list[str]) -> str:
    lines = ["endpoint_configs:"]
    for name in names:
        lines.append(
            f"  {name}:\n    production_variants: [{{variant_name: primary, model_name: \"${{models.{name}.name}}\", "
            "instance_type: ml.m5.large, initial_instance_count: 1}]"
        )
    return "\n".join(lines) + "\n"


def _endpoints(names: list[str], tags: dict[str, str], policy: str = "") -> str:
    lines = ["endpoints:"]
    for name in names:
        lines.append(f"  {name}:\n    endpoint_config_name: ${{endpoint_configs.{name}.name}}{policy}")
        if name in tags:
            lines.append(f"    tags: {{stage: {tags[name]}}}")
    return "\n".join(lines) + "\n"


def local_config(url: str, variant: str, p: str = "") -> str:
    """A: endpoints a, b, c and a package; B: a's model changed (endpoint update), c gone, d new,
    b retagged, the package's approval updated in place. Names start with `p`."""
    b = variant == "B"
    models = {f"{p}a": "a2" if b else "a1", f"{p}b": "b1", **({f"{p}d": "d1"} if b else {f"{p}c": "c1"})}
    names = list(models)
    package = f"""model_package_groups:
  {p}g: {{model_package_group_description: "reliability"}}
model_packages:
  {p}v1:
    model_package_group_name: ${{model_package_groups.{p}g.name}}
    inference_specification:
      containers: [{{image: local/echo, model_data_url: "s3://bucket/v1.tar.gz"}}]
      supported_content_types: [text/csv]
      supported_response_mime_types: [text/csv]
    model_approval_status: {"Approved" if b else "PendingManualApproval"}
"""
    return (
        f'provider: {{type: local, url: "{url}", max_attempts: 8}}\n'
        + _models(_ECHO, models)
        + _configs(names)
        + _endpoints(names, {f"{p}b": "two" if b else "one"}, _POLICY)
        + package
    )


def moto_config(url: str, variant: str, p: str = "") -> str:
    """moto has no UpdateEndpoint and cannot delete model package groups nor list a package's tags:
    A has endpoints a, b, c and a spare model; B replaces the spare, drops c, adds d, retags b."""
    b = variant == "B"
    models = {f"{p}a": "a1", f"{p}b": "b1", **({f"{p}d": "d1"} if b else {f"{p}c": "c1"})}
    names = list(models)
    spare = {f"{p}spare": "s2" if b else "s1"}
    return (
        f"provider: {{type: aws, region: us-east-1, endpoint_url: \"{url}\", max_attempts: 8}}\n"
        + _models(_S3, {**models, **spare}, f"\n    execution_role_arn: {ROLE}")
        + _configs(names)
        + _endpoints(names, {f"{p}b": "two" if b else "one"})
    )


def moto_stack_config(url: str, variant: str, p: str = "") -> str:
    """Endpoints with alarms and scaling targets: A has endpoints a and c, each with an alarm and a
    target with a policy; B changes a's alarm and target in place, drops c with its alarm and
    target (deregistered before c is deleted) and adds d, whose alarm and target are new."""
    b = variant == "B"
    models = {f"{p}a": "a1", **({f"{p}d": "d1"} if b else {f"{p}c": "c1"})}
    names = list(models)
    return (
        f"provider: {{type: aws, region: us-east-1, endpoint_url: \"{url}\", max_attempts: 8}}\n"
        + _models(_S3, models, f"\n    execution_role_arn: {ROLE}")
        + _configs(names)
        + _endpoints(names, {})
        + _stack(names, 2 if b else 1)
    )


def _stack(names: list[str], size: int) -> str:
    """An alarm and a scaling target with a target tracking policy per endpoint; `size` sets the threshold and bounds."""
    alarms, scaling = ["alarms:"], ["scaling:"]
    for name in names:
        alarms.append(
            f"  {name}-5xx: {{namespace: AWS/SageMaker, metric_name: Invocation5XXErrors, statistic: Sum, period: 60, "
            f"evaluation_periods: 1, threshold: {size}, comparison_operator: GreaterThanOrEqualToThreshold, "
            f"dimensions: [{{name: EndpointName, value: \"${{endpoints.{name}.name}}\"}}]}}"
        )
        scaling.append(
            f"  {name}:\n    target: {{endpoint: \"${{endpoints.{name}.name}}\", variant: primary}}\n"
            f"    min_capacity: 1\n    max_capacity: {size + 1}\n    policies:\n      invocations:\n"
            "        policy_type: TargetTrackingScaling\n        target_tracking_scaling_policy_configuration:\n"
            f"          target_value: {100 * size}\n"
            "          predefined_metric_specification: {predefined_metric_type: SageMakerVariantInvocationsPerInstance}"
        )
    return "\n".join(alarms) + "\n" + "\n".join(scaling) + "\n"


@dataclass
class Target:
    """One API to point smstate at, and how to read the account behind it."""

    name: str
    api_url: str
    render: Callable[[str, str, str], str]
    reset: Callable[[], None] = lambda: None
    stack: bool = False
    """Its configs hold alarms and scaling targets: the checks read CloudWatch and Application Auto Scaling too."""

    def sagemaker(self) -> Any:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        return session.client("sagemaker", endpoint_url=self.api_url, config=config)

    @property
    def packages(self) -> bool:
        return self.name == "local"


    def client(self, service: str) -> Any:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        return session.client(service, endpoint_url=self.api_url, config=Config(retries={"mode": "standard", "max_attempts": 5}))

    def command(self, command: str) -> tuple[str, ...]:
        """`apply`/`destroy --auto-approve`. moto answers ListTags on an endpoint deleted a moment
        ago with a 500 (AWS: not found), which a destroy's in-use check can meet while other
        endpoints go away in parallel: on moto, destroy runs one operation at a time."""
        serial = ("--parallelism", "1") if self.name == "moto" and command == "destroy" else ()
        return (command, "--auto-approve", *serial)


@dataclass
class Workdir:
    """A config directory whose config talks to the API through `proxy`."""

    dir: Path
    target: Target
    proxy_url: str
    prefix: str
    """Starts every name, so that tests sharing a server never meet each other's objects."""
    s3: tuple[str, str] | None = None
    """(bucket, key) of an S3 backend on the moto server, instead of the local statefile."""

    @classmethod
    def create(cls, path: Path, target: Target, proxy_url: str, variant: str = "A", s3: tuple[str, str] | None = None) -> Workdir:
        path.mkdir(parents=True, exist_ok=True)
        model_tar(path / "build", "echo")
        (path / "models").mkdir(exist_ok=True)
        (path / "build" / "echo.tar.gz").replace(path / "models" / "echo.tar.gz")
        work = cls(path, target, proxy_url, f"w{next(_WORKDIRS)}-", s3)
        work.use(variant)
        return work

    def use(self, variant: str) -> None:
        text = self.target.render(self.proxy_url, variant, self.prefix)
        if self.s3:
            text += f'backend: {{type: s3, bucket: {self.s3[0]}, key: {self.s3[1]}, endpoint_url: "{self.target.api_url}"}}\n'
        (self.dir / "smstate.yaml").write_text(text)

    def backend(self) -> Backend:
        if self.s3:
            with environ(self.env):
                return S3Backend(*self.s3, "us-east-1", self.target.api_url)
        return LocalBackend(self.state_file)

    @property
    def env(self) -> dict[str, str]:
        return cli_env(None)

    @property
    def state_file(self) -> Path:
        return state_path(self.dir)

    def run(self, *args: str, timeout: float = 120) -> Result:
        return run_cli(args, self.dir, self.env, timeout=timeout)

    def run_here(self, *args: str) -> Result:
        """The CLI in this process: the same code, without a Python start-up."""
        with environ(self.env):
            return main_in_process([*args, "-C", str(self.dir)])

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*CLI, *args], cwd=self.dir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def state(self) -> State | None:
        """The statefile, parsed the way smstate parses it (None when there is none yet)."""
        with environ(self.env):
            return self.backend().read()

    def serial(self) -> int:
        state = self.state()
        return state.serial if state else -1


def main_in_process(args: list[str]) -> Result:
    """`smstate.cli.main(args)` with both streams captured."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return Result(code, out.getvalue(), err.getvalue())


@contextmanager
def environ(env: Mapping[str, str]) -> Iterator[None]:
    """Run with exactly `env` as the environment, restored afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_killed(work: Workdir, proxy: FaultProxy, calls: int, *args: str, timeout: float = 120) -> tuple[bool, Result]:
    """Run smstate; the proxy SIGKILLs it right after forwarding its `calls`th API call.

    Returns (killed, result): a run that needed fewer calls ends normally."""
    set_pid = proxy.kill_after(calls)
    proc = work.popen(*args)
    set_pid(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = proxy.killed
    proxy.disarm()
    return killed, Result(proc.returncode, out, err)


def account(target: Target) -> list[Found]:
    """Every object in the account, with its tags, read through the List APIs and ListTags."""
    sm = target.sagemaker()
    found: list[Found] = []
    lists = (
        ("models", "list_models", "Models", "ModelName", "ModelArn"),
        ("endpoint_configs", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
        ("endpoints", "list_endpoints", "Endpoints", "EndpointName", "EndpointArn"),
        ("model_package_groups", "list_model_package_groups", "ModelPackageGroupSummaryList",
         "ModelPackageGroupName", "ModelPackageGroupArn"),
    )  # fmt: skip
    for kind, op, key, name_field, arn_field in lists:
        for page in sm.get_paginator(op).paginate():
            for item in page[key]:
                if kind == "endpoints" and item.get("EndpointStatus") == "Deleting":
                    continue  # going away by smstate's own hand: state already forgot it, or will
                found.append((kind, item[name_field], _tags(sm, item[arn_field])))
                if kind == "model_package_groups" and target.packages:
                    for pages in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=item[name_field]):
                        for package in pages["ModelPackageSummaryList"]:
                            arn = package["ModelPackageArn"]
                            found.append(("model_packages", arn, _tags(sm, arn)))
    if target.stack:
        cloudwatch = target.client("cloudwatch")
        for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
            tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
            found.append(("alarms", alarm["AlarmName"], {t["Key"]: t["Value"] for t in tags}))
    return found


def scalable_targets(target: Target) -> list[str]:
    """The ids of every scalable target and every scaling policy's target (untagged: checked against the state)."""
    if not target.stack:
        return []
    autoscaling = target.client("application-autoscaling")
    rows = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    rows += autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    return sorted({f"{r['ResourceId']}|{r['ScalableDimension']}" for r in rows})


def _tags(sm: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for page in sm.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update({t["Key"]: t["Value"] for t in page["Tags"]})
    return tags


def owned(target: Target, lineage: str) -> list[Found]:
    return [f for f in account(target) if f[2].get(OWNER_LINEAGE_TAG) == lineage]


def check_converged(work: Workdir, serial_before: int, destroyed: bool = False) -> None:
    """The statefile parses and its serial only grew; `plan` says No changes; zero orphans; no duplicates."""
    state = work.state()
    assert state is not None, "no statefile"
    assert state.serial >= serial_before, f"serial went back from {serial_before} to {state.serial}"
    backup = work.state_file.with_name(work.state_file.name + ".backup")
    if backup.exists():
        State.loads(backup.read_text(), str(backup))
    args = ["plan", "--detailed-exitcode"] + (["--destroy"] if destroyed else [])
    planned = work.run_here(*args)
    assert planned.code == 0 and "No changes." in planned.out, str(planned)
    assert "Traceback" not in planned.err, str(planned)
    mine = owned(work.target, state.lineage)
    orphans = [f"{d.address} {d.physical_name}" for d in unmanaged(state, mine)]
    assert not orphans, f"orphans: {orphans}"
    known = {o.id for o in state.resources.values() if o.status != "gone"}
    known |= {d.id for o in state.resources.values() for d in o.deposed}
    live = [object_id for _, object_id, _ in mine]
    assert len(live) == len(set(live)), f"duplicates: {live}"
    targets = {o.id for o in state.resources.values() if o.type == "scaling_target" and o.status != "gone"}
    assert scalable_targets(work.target) == sorted(targets), "scalable targets or policies the state does not know"
    if destroyed:
        assert not live and not known, f"left after destroy: live {live}, state {sorted(known)}"


def summary(state: State) -> str:
    return json.dumps({a: o.physical_name or o.arn for a, o in sorted(state.resources.items())})

"""Drift is exact: right after an apply, `drift` and `plan` find nothing, whatever the config.

Hypothesis generates configs — environment maps (empty ones too), optional fields such as
`enable_network_isolation`, VPC settings with 1–3 subnets in any order, endpoint configs with
1–3 variants of random weights and instance counts, tags (none, or empty values), data
capture, deployment settings, and on the local target model packages — applies each to an
empty account and requires `drift` exit 0 and `plan --detailed-exitcode` exit 0 at once.
Any server-filled default, reordered list or empty-vs-absent difference shows up here as
false drift. Each example is three CLI runs, so the default run keeps the count small; the
`slow` variant explores more.

The other way round, drift is found exactly: among a fleet of model + config + endpoint
triples, large enough that the refresh reads them from List rows and bulk tags, one object
changed by hand (a tag, a weight, an instance count, the config an endpoint serves from) is
reported, and only it.
"""

from __future__ import annotations

import json
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchmarks.plan_refresh import config_text

from .helpers import read_state
from .targets import ROLE, TARGETS, Target, Workdir, open_target

SUBNETS = 3
SECURITY_GROUPS = 2
CONTENT_TYPES = ["text/csv", "application/json", "application/x-npy"]
IMAGES = ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "local/echo"]

names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
env_keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,7}", fullmatch=True).filter(lambda k: k != "SAGEMAKER_PROGRAM")
env_values = st.text(alphabet=string.ascii_letters + string.digits + " -_./:=,", max_size=12)
tag_values = st.text(alphabet=string.ascii_letters + string.digits + " _.:/=+-@", max_size=12)
tag_maps = st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.:/=+@-]{0,9}", fullmatch=True), tag_values, max_size=3)


@st.composite
def containers(draw: st.DrawFn, artifact: str) -> dict[str, Any]:
    out: dict[str, Any] = {"image": draw(st.sampled_from(IMAGES)), "model_data_url": artifact}
    env = draw(st.one_of(st.none(), st.dictionaries(env_keys, env_values, max_size=3)))
    if env is not None:
        out["environment"] = {**env, "SAGEMAKER_PROGRAM": "inference.py"} if draw(st.booleans()) else env
    return out


@st.composite
def vpc_configs(draw: st.DrawFn, subnets: list[str], groups: list[str]) -> dict[str, Any]:
    return {
        "subnets": draw(st.permutations(subnets).flatmap(lambda p: st.integers(1, len(p)).map(lambda n: p[:n]))),
        "security_group_ids": draw(st.permutations(groups).flatmap(lambda p: st.integers(1, len(p)).map(lambda n: p[:n]))),
    }


@st.composite
def models(draw: st.DrawFn, artifact: str, subnets: list[str], groups: list[str]) -> dict[str, Any]:
    model: dict[str, Any] = {"execution_role_arn": ROLE}
    if draw(st.booleans()):
        model["primary_container"] = draw(containers(artifact))
    else:
        model["containers"] = draw(st.lists(containers(artifact), min_size=2, max_size=2))
    if draw(st.booleans()):
        model["enable_network_isolation"] = draw(st.booleans())
    if draw(st.booleans()):
        model["vpc_config"] = draw(vpc_configs(subnets, groups))
    tags = draw(st.one_of(st.none(), tag_maps))
    if tags is not None:
        model["tags"] = tags
    return model


weights = st.one_of(st.integers(1, 3), st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.5]))


@st.composite
def variants(draw: st.DrawFn, model_names: list[str]) -> list[dict[str, Any]]:
    labels = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    out = []
    for label in labels:
        variant: dict[str, Any] = {
            "variant_name": label,
            "model_name": "${models.%s.name}" % draw(st.sampled_from(model_names)),
            "instance_type": draw(st.sampled_from(["ml.m5.large", "ml.c5.xlarge"])),
            "initial_instance_count": draw(st.integers(1, 2)),
        }
        weight = draw(st.one_of(st.none(), weights))
        if weight is not None:
            variant["initial_variant_weight"] = weight
        out.append(variant)
    return out


@st.composite
def data_capture(draw: st.DrawFn) -> dict[str, Any]:
    modes = draw(st.lists(st.sampled_from(["Input", "Output"]), min_size=1, max_size=2, unique=True))
    out: dict[str, Any] = {
        "initial_sampling_percentage": draw(st.integers(1, 100)),
        "destination_s3_uri": "s3://smstate-capture/" + draw(names),
        "capture_options": [{"capture_mode": m} for m in modes],
    }
    if draw(st.booleans()):
        out["enable_capture"] = draw(st.booleans())
    if draw(st.booleans()):
        out["capture_content_type_header"] = {"csv_content_types": draw(st.lists(st.just("text/csv"), min_size=1, max_size=1))}
    return out


@st.composite
def packages(draw: st.DrawFn, artifact: str) -> dict[str, Any]:
    package: dict[str, Any] = {
        "model_package_group_name": "${model_package_groups.registry.name}",
        "inference_specification": {
            "containers": [{"image": draw(st.sampled_from(IMAGES)), "model_data_url": "s3://smstate-e2e/pkg.tar.gz"}],
            "supported_content_types": draw(st.lists(st.sampled_from(CONTENT_TYPES), min_size=1, max_size=3, unique=True)),
            "supported_response_mime_types": draw(st.lists(st.sampled_from(CONTENT_TYPES), min_size=1, max_size=3, unique=True)),
        },
    }
    if draw(st.booleans()):
        package["model_approval_status"] = draw(st.sampled_from(["Approved", "Rejected", "PendingManualApproval"]))
    if draw(st.booleans()):
        package["model_package_description"] = draw(env_values)
    if draw(st.booleans()):
        values = st.text(alphabet=string.ascii_letters + string.digits + "_.:/=+-@", min_size=1, max_size=12)
        package["customer_metadata_properties"] = draw(st.dictionaries(env_keys, values, min_size=1, max_size=2))
    return package


@st.composite
def configs(draw: st.DrawFn, local: bool, artifact: str, subnets: list[str], groups: list[str]) -> dict[str, Any]:
    """A whole config (without `provider:`): models, one endpoint config and endpoint, maybe a registry."""
    model_names = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    doc: dict[str, Any] = {"models": {n: draw(models(artifact, subnets, groups)) for n in model_names}}
    config: dict[str, Any] = {"production_variants": draw(variants(model_names))}
    if draw(st.booleans()):
        config["data_capture_config"] = draw(data_capture())
    tags = draw(st.one_of(st.none(), tag_maps))
    if tags is not None:
        config["tags"] = tags
    doc["endpoint_configs"] = {"serving": config}
    endpoint: dict[str, Any] = {"endpoint_config_name": "${endpoint_configs.serving.name}"}
    if draw(st.booleans()):
        endpoint["deployment_config"] = {
            "blue_green_update_policy": {
                "traffic_routing_configuration": {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": draw(st.integers(0, 60))},
            }
        }
    tags = draw(st.one_of(st.none(), tag_maps))
    if tags is not None:
        endpoint["tags"] = tags
    doc["endpoints"] = {"serving": endpoint}
    if local and draw(st.booleans()):  # moto can neither list a package's tags nor delete it
        doc["model_package_groups"] = {"registry": {"model_package_group_description": draw(env_values)}}
        doc["model_packages"] = {"v1": draw(packages(artifact))}
    return doc


def networks(t: Target) -> tuple[list[str], list[str]]:
    """Subnets and security groups the configs may name (real ones on moto: plan checks them)."""
    if t.local:
        return [f"subnet-0{i}a1b2c3d" for i in range(SUBNETS)], [f"sg-0{i}c1d2e3f" for i in range(SECURITY_GROUPS)]
    ec2 = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ec2", endpoint_url=t.url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24")["Subnet"]["SubnetId"] for i in range(SUBNETS)]
    groups = [
        ec2.create_security_group(GroupName=f"g{i}", Description="drift", VpcId=vpc)["GroupId"] for i in range(SECURITY_GROUPS)
    ]
    return subnets, groups


def check_exact(name: str, moto_url: str, data: st.DataObject) -> None:
    """Apply a generated config to an empty account; nothing may look drifted or changed."""
    with tempfile.TemporaryDirectory(prefix="smstate-drift-") as scratch, open_target(name, moto_url, Path(scratch)) as t:
        subnets, groups = networks(t)
        doc = data.draw(configs(t.local, t.artifact("model"), subnets, groups), label="config")
        text = t.provider_block() + yaml.safe_dump(doc, sort_keys=False)
        work = Workdir.make(Path(scratch) / "project", t, text)

        applied = work.run("apply", "--auto-approve")
        assert applied.code == 0, f"{text}\n{applied}"
        drift = work.run("drift", "--format", "json")
        assert drift.code == 0, f"false drift after apply:\n{text}\n{json.dumps(json.loads(drift.out or '{}'), indent=1)}\n{drift.err}"
        plan = work.run("plan", "--detailed-exitcode")
        assert plan.code == 0, f"plan not clean after apply:\n{text}\n{plan}"


EXAMPLES = {"moto": 8, "local": 6}
SLOW_EXAMPLES = 40
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
"""Shrinking re-runs whole applies for minutes; the failure message already shows the whole config."""


@pytest.mark.parametrize("name", TARGETS)
def test_fresh_apply_never_drifts(name: str, moto_url: str) -> None:
    @settings(max_examples=EXAMPLES[name], deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        check_exact(name, moto_url, data)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("name", TARGETS)
def test_fresh_apply_never_drifts_many(name: str, moto_url: str) -> None:
    @settings(max_examples=SLOW_EXAMPLES, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        check_exact(name, moto_url, data)

    run()


FLEET = 21
"""Triples of model, endpoint config and endpoint: more than `refresh.LIST_FROM` of each kind, so
the refresh reads them from List rows and tags in bulk rather than describing each."""
HAND_CHANGES = {"moto": ("tag",), "local": ("tag", "weight", "instance_count", "config")}
"""moto keeps an endpoint's LastModifiedTime through a weight change and has no UpdateEndpoint:
those hand changes are checked on the local target, whose endpoints behave as SageMaker's do."""
FLEET_EXAMPLES = 6


def fleet_text(t: Target) -> str:
    return config_text(FLEET, t.provider_block().strip(), t.image, t.artifact("fleet"))


def hand_change(t: Target, work: Workdir, change: str, address: str) -> Callable[[], None]:
    """Make one change by hand, as a user with the console would; return what undoes it."""
    recorded = read_state(work.dir)["resources"][address]
    name, arn = recorded["physical_name"], recorded["arn"]
    if change == "tag":
        t.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "changed-by", "Value": "hand"}])
        return lambda: t.sm.delete_tags(ResourceArn=arn, TagKeys=["changed-by"])
    if change in ("weight", "instance_count"):
        member, changed, original = ("DesiredWeight", 2.0, 1.0) if change == "weight" else ("DesiredInstanceCount", 2, 1)

        def resize(value: float) -> None:
            t.sm.update_endpoint_weights_and_capacities(
                EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "a", member: value}]
            )
            t.settle(name)

        resize(changed)
        return lambda: resize(original)

    def serve_from(config: str) -> None:
        t.sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
        t.settle(name)

    serve_from("hand-config")
    return lambda: serve_from(recorded["attributes"]["endpoint_config_name"])


@pytest.mark.parametrize("name", TARGETS)
def test_one_hand_change_among_many_is_found(name: str, moto_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="smstate-fleet-") as scratch, open_target(name, moto_url, Path(scratch)) as t:
        work = Workdir.make(Path(scratch) / "project", t, fleet_text(t))
        applied = work.run("apply", "--auto-approve", "--parallelism", "10", timeout=600)
        assert applied.code == 0, str(applied)
        t.hand_config("hand-config", read_state(work.dir)["resources"]["models.m0"]["physical_name"])

        @settings(max_examples=FLEET_EXAMPLES, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
        @given(change=st.sampled_from(HAND_CHANGES[name]), index=st.integers(0, FLEET - 1), data=st.data())
        def run(change: str, index: int, data: st.DataObject) -> None:
            prefixes = {"models": "m", "endpoint_configs": "c", "endpoints": "e"} if change == "tag" else {"endpoints": "e"}
            kind = data.draw(st.sampled_from(sorted(prefixes)), label="type")
            address = f"{kind}.{prefixes[kind]}{index}"
            undo = hand_change(t, work, change, address)
            try:
                found = work.run("drift", "--format", "json")
                drifted = [d["address"] for d in json.loads(found.out or "{}").get("drift", [])]
                assert drifted == [address], f"{change} on {address}: {found}"
            finally:
                undo()

        run()

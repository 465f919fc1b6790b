"""A regression guard that is not a timing: API calls per object in a no-change plan.

An object is described only when its List row shows it changed since state recorded it;
tags come in bulk (GetResources, 100 ARNs a call) where the tagging API answers for them,
else from ListTags one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.plan_refresh import config_text
from tests.reliability.proxy import FaultProxy
from tests.e2e.conftest import Aws
from tests.e2e.helpers import cli_env, run_cli
from tests.local.server_harness import ServerProcess, clients, model_tar, wait_settled

N = 25
"""Triples of model, endpoint config and endpoint: more than `refresh.LIST_FROM` of each kind."""
LOCAL_TARGET = 0.1
AWS_TARGET = 1.05
DESCRIBES = ("DescribeModel", "DescribeEndpointConfig", "DescribeEndpoint")
LISTS = ("ListModels", "ListEndpointConfigs", "ListEndpoints")


def api_calls(proxy: FaultProxy) -> dict[str, int]:
    """The API calls the proxy saw (it counts API operations, not the local target's health checks)."""
    return dict(proxy.operations())


def test_moto_plan_describes_nothing_unchanged(tmp_path: Path, aws: Aws) -> None:
    """moto's tagging API answers for models and endpoints, not endpoint configs: those fall back to ListTags."""
    (tmp_path / "smstate.yaml").write_text(config_text(N))
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env, timeout=300).code == 0
    with FaultProxy(aws.url) as proxy:
        result = run_cli(["plan", "--detailed-exitcode"], tmp_path, {**aws.env, "AWS_ENDPOINT_URL": proxy.url}, timeout=300)
        assert result.code == 0, str(result)
    calls = api_calls(proxy)
    assert all(calls.get(op, 0) == 0 for op in DESCRIBES), calls
    assert all(calls.get(op) == 1 for op in LISTS), calls
    assert calls.get("ListTags") == N, calls  # the endpoint configs only
    assert sum(calls.values()) / (3 * N) <= AWS_TARGET, calls


def test_moto_plan_without_the_tagging_api_lists_tags_one_by_one(tmp_path: Path, aws: Aws) -> None:
    (tmp_path / "smstate.yaml").write_text(config_text(N))
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env, timeout=300).code == 0
    arn = aws.sagemaker.describe_endpoint(EndpointName="e3")["EndpointArn"]
    aws.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "by-hand"}])
    with FaultProxy(aws.url, deny=frozenset({"GetResources"})) as proxy:
        result = run_cli(["plan", "--detailed-exitcode"], tmp_path, {**aws.env, "AWS_ENDPOINT_URL": proxy.url}, timeout=300)
    assert result.code == 2 and "endpoints.e3" in result.out, str(result)
    calls = api_calls(proxy)
    assert calls.get("GetResources") == 1, calls  # denied once, not asked again
    assert calls.get("ListTags") == 3 * N, calls
    assert all(calls.get(op, 0) == 0 for op in ("DescribeModel", "DescribeEndpointConfig")), calls


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    server = ServerProcess(tmp_path / "home").start()
    try:
        yield server, tmp_path / "project"
    finally:
        server.close()


def plan_through(proxy: FaultProxy, work: Path, artifact: str, *args: str) -> Any:
    provider = f'provider: {{type: local, url: "{proxy.url}"}}'
    (work / "smstate.yaml").write_text(config_text(N, provider, "local/echo", artifact))
    return run_cli(["plan", *args], work, cli_env(None), timeout=300)


def test_local_plan_reads_tags_in_bulk_and_describes_only_what_changed(local: tuple[ServerProcess, Path]) -> None:
    server, work = local
    work.mkdir()
    artifact = "file://" + str(model_tar(work.parent / "artifacts", "v1"))
    (work / "smstate.yaml").write_text(config_text(N, f'provider: {{type: local, url: "{server.url}"}}', "local/echo", artifact))
    applied = run_cli(["apply", "--auto-approve"], work, cli_env(None), timeout=600)
    assert applied.code == 0, str(applied)

    with FaultProxy(server.url) as proxy:
        assert plan_through(proxy, work, artifact, "--detailed-exitcode").code == 0
    calls = api_calls(proxy)
    assert sum(calls.values()) / (3 * N) <= LOCAL_TARGET, calls
    assert all(calls.get(op, 0) == 0 for op in (*DESCRIBES, "ListTags")), calls

    sm = clients(server.url)[0]
    sm.update_endpoint_weights_and_capacities(
        EndpointName="e7", DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredInstanceCount": 2}]
    )
    wait_settled(sm, "e7")
    model_arn = sm.describe_model(ModelName=json.loads((work / "state" / "default.json").read_text())
                                  ["resources"]["models.m3"]["physical_name"])["ModelArn"]
    sm.add_tags(ResourceArn=model_arn, Tags=[{"Key": "owner", "Value": "by-hand"}])
    with FaultProxy(server.url) as proxy:
        result = plan_through(proxy, work, artifact, "--detailed-exitcode")
    assert result.code == 2, str(result)
    assert "endpoints.e7" in result.out and "models.m3" in result.out, str(result)
    assert "endpoints.e6" not in result.out and "models.m4" not in result.out, str(result)
    calls = api_calls(proxy)
    assert calls.get("DescribeEndpoint") == 1 and calls.get("DescribeModel", 0) == 0, calls

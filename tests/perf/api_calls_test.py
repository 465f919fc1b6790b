"""A regression guard that is not a timing: API calls per object in a no-change plan."""

from __future__ import annotations

from pathlib import Path

from benchmarks.plan_refresh import config_text
from tests.reliability.proxy import FaultProxy
from tests.e2e.conftest import Aws
from tests.e2e.helpers import run_cli

N = 25
TARGET = 2.0


def test_plan_reads_each_object_with_fewer_than_two_calls(tmp_path: Path, aws: Aws) -> None:
    (tmp_path / "smstate.yaml").write_text(config_text(N))
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env, timeout=300).code == 0
    with FaultProxy(aws.url) as proxy:
        env = {**aws.env, "AWS_ENDPOINT_URL": proxy.url}
        result = run_cli(["plan", "--detailed-exitcode"], tmp_path, env, timeout=300)
        assert result.code == 0, str(result)
    per_object = proxy.total / (3 * N)
    calls = proxy.operations()
    assert per_object < TARGET, dict(calls)
    assert calls["DescribeModel"] == 0 and calls["DescribeEndpointConfig"] == 0, dict(calls)
    assert calls["DescribeEndpoint"] == N

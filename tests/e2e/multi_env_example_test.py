"""`examples/multi-env`: one module, two environments, for_each over models, on the local target."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import REPO, cli_env, read_state, run_cli
from tests.local.server_harness import ServerProcess, clients


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("local") / "home").start()
    yield proc
    proc.close()


def test_the_example_applies_replans_clean_serves_each_environment_and_destroys(tmp_path: Path, server: ServerProcess) -> None:
    example = tmp_path / "multi-env"
    shutil.copytree(REPO / "examples" / "multi-env", example, ignore=shutil.ignore_patterns("build", "state", ".smstate"))
    subprocess.run([sys.executable, str(example / "build.py")], check=True, capture_output=True)
    config = example / "smstate.yaml"
    config.write_text(config.read_text().replace("  type: local\n", f'  type: local\n  url: "{server.url}"\n'))
    env = cli_env(None)

    applied = run_cli(["apply", "--auto-approve"], example, env, timeout=300)
    assert applied.code == 0, str(applied)
    outputs = read_state(example)["outputs"]
    assert outputs == {
        "staging_endpoints": {"churn": "env-staging-api-churn", "fraud": "env-staging-api-fraud"},
        "prod_endpoints": {"churn": "env-prod-api-churn", "fraud": "env-prod-api-fraud"},
    }
    sm, runtime = clients(server.url)
    prod = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(EndpointName="env-prod-api-fraud")["EndpointConfigName"])
    assert (prod["ProductionVariants"][0]["InstanceType"], prod["ProductionVariants"][0]["InitialInstanceCount"]) == ("ml.m5.large", 2)
    answer = runtime.invoke_endpoint(EndpointName="env-staging-api-fraud", Body=b"{}", ContentType="application/json")
    assert json.loads(answer["Body"].read()) == {"model": "fraud", "environment": "staging"}

    again = run_cli(["plan", "--detailed-exitcode"], example, env)
    assert again.code == 0, str(again)
    gone = run_cli(["destroy", "--auto-approve"], example, env, timeout=300)
    assert gone.code == 0, str(gone)
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert read_state(example)["resources"] == {}

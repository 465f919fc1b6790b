"""Registry approval -> deploy on the local target: a data source follows the newest approved
version of a model package group, so approving one makes the next plan roll the endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import cli_env, run_cli
from tests.local.server_harness import ServerProcess, clients, model_tar

CONFIG = """\
provider: {{type: local, url: "{url}"}}
data:
  model_packages:
    churn_latest: {{model_package_group_name: churn, model_approval_status: Approved}}
models:
  churn:
    primary_container:
      image: local/echo
      model_data_url: ./models/blue.tar.gz
      environment: {{SAGEMAKER_PROGRAM: inference.py, PACKAGE: "${{data.model_packages.churn_latest.arn}}"}}
endpoint_configs:
  churn:
    production_variants:
      - {{variant_name: primary, model_name: "${{models.churn.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}
endpoints:
  churn:
    endpoint_config_name: ${{endpoint_configs.churn.name}}
outputs:
  package: ${{data.model_packages.churn_latest.arn}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("local") / "home").start()
    yield proc
    proc.close()


def register(sm: object, status: str) -> str:
    spec = {"Containers": [{"Image": "local/echo"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
    created = sm.create_model_package(  # type: ignore[attr-defined]
        ModelPackageGroupName="churn", InferenceSpecification=spec, ModelApprovalStatus=status
    )
    return str(created["ModelPackageArn"])


def test_approving_a_package_version_makes_the_next_plan_replace_the_model_and_update_the_endpoint(
    tmp_path: Path, server: ServerProcess
) -> None:
    sm, _ = clients(server.url)
    sm.create_model_package_group(ModelPackageGroupName="churn")
    first = register(sm, "Approved")
    model_tar(tmp_path / "models", "blue")
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url))
    env = cli_env(None)
    applied = run_cli(["apply", "--auto-approve"], tmp_path, env, timeout=120)
    assert applied.code == 0, str(applied)
    assert json.loads((tmp_path / "state" / "default.json").read_text())["outputs"]["package"] == first
    assert run_cli(["plan", "--detailed-exitcode"], tmp_path, env).code == 0

    pending = register(sm, "PendingManualApproval")
    assert run_cli(["plan", "--detailed-exitcode"], tmp_path, env).code == 0  # not approved: nothing to do
    sm.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Approved")
    planned = run_cli(["plan", "--detailed-exitcode", "--json"], tmp_path, env)
    assert planned.code == 2, str(planned)
    document = json.loads(planned.out)
    assert document["data"] == {"data.model_packages.churn_latest": pending}
    changes = {c["address"]: c for c in document["changes"]}
    assert {a: c["action"] for a, c in changes.items()} == {
        "models.churn": "replace", "endpoint_configs.churn": "replace", "endpoints.churn": "update",
    }
    assert [d["after"] for d in changes["models.churn"]["diff"]] == [pending]
    human = run_cli(["plan"], tmp_path, env)
    assert f"data.model_packages.churn_latest: {pending}" in human.out, str(human)


def test_a_data_source_that_matches_nothing_is_one_error_line(tmp_path: Path, server: ServerProcess) -> None:
    model_tar(tmp_path / "models", "blue")
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url).replace("group_name: churn", "group_name: nothing"))
    result = run_cli(["plan"], tmp_path, cli_env(None))
    assert result.code == 1
    assert result.errors == [
        "Error: data.model_packages.churn_latest: no model package matches "
        "model_approval_status=Approved, model_package_group_name=nothing"
    ], str(result)

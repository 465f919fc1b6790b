"""The CLI against the embedded local SageMaker: the paths moto cannot serve.

Endpoint updates (UpdateEndpoint), rollbacks believed only from DescribeEndpoint,
model package versions and their deletion, duplicate rejection and adoption.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import assert_clean_failure, cli_env, read_state, run_cli, write_state
from tests.local.server_harness import BROKEN_CODE, ServerProcess, clients, model_tar

CONFIG = """\
provider: {{type: local, url: "{url}"}}
models:
  echo:
    primary_container:
      image: local/echo
      model_data_url: ./{artifact}
      environment: {{SAGEMAKER_PROGRAM: inference.py}}
endpoint_configs:
  echo:
    production_variants:
      - {{variant_name: primary, model_name: "${{models.echo.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}
endpoints:
  echo:
    endpoint_config_name: ${{endpoint_configs.echo.name}}
    deployment_config:
      blue_green_update_policy:
        traffic_routing_configuration: {{type: ALL_AT_ONCE, wait_interval_in_seconds: 1}}
        termination_wait_in_seconds: 1
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("local") / "home").start()
    yield proc
    proc.close()


def project(tmp_path: Path, server: ServerProcess, label: str = "blue", code: str | None = None) -> Path:
    model_tar(tmp_path / "models", label, **({"code": code} if code else {}))
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url, artifact=f"models/{label}.tar.gz"))
    return tmp_path


def switch_artifact(path: Path, label: str, code: str | None = None) -> None:
    model_tar(path / "models", label, **({"code": code} if code else {}))
    text = (path / "smstate.yaml").read_text()
    old = text.split("model_data_url: ./models/")[1].split(".tar.gz")[0]
    (path / "smstate.yaml").write_text(text.replace(f"models/{old}.tar.gz", f"models/{label}.tar.gz"))


def invoke(path: Path, env: dict[str, str]) -> str:
    result = run_cli(["invoke", "echo", "--body", "1"], path, env)
    assert result.code == 0, str(result)
    return str(json.loads(result.out)["label"])


def test_update_rolls_out_and_cleans_up(tmp_path: Path, server: ServerProcess) -> None:
    env = cli_env(None)
    path = project(tmp_path, server)
    first = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
    assert first.code == 0, str(first)
    assert invoke(path, env) == "blue"
    old = read_state(path)["resources"]
    switch_artifact(path, "green")
    planned = run_cli(["plan", "--json", "--detailed-exitcode"], path, env)
    assert planned.code == 2, str(planned)
    actions = {c["address"]: c["action"] for c in json.loads(planned.out)["changes"]}
    assert actions == {"models.echo": "replace", "endpoint_configs.echo": "replace", "endpoints.echo": "update"}
    second = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
    assert second.code == 0, str(second)
    assert "2 added, 1 changed, 2 destroyed" in second.out
    assert invoke(path, env) == "green"
    sm, _ = clients(server.url)
    names = {m["ModelName"] for m in sm.list_models()["Models"]}
    assert old["models.echo"]["physical_name"] not in names
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert old["endpoint_configs.echo"]["physical_name"] not in configs
    resources = read_state(path)["resources"]
    assert not any(r.get("deposed") for r in resources.values())
    again = run_cli(["plan", "--detailed-exitcode"], path, env)
    assert again.code == 0 and "No changes." in again.out, str(again)
    assert run_cli(["destroy", "--auto-approve"], path, env, timeout=120).code == 0


def test_rollback_is_recorded_as_failure_and_offered_again(tmp_path: Path, server: ServerProcess) -> None:
    env = cli_env(None)
    path = project(tmp_path, server)
    assert run_cli(["apply", "--auto-approve"], path, env, timeout=120).code == 0
    before = read_state(path)["resources"]
    switch_artifact(path, "broken", BROKEN_CODE)
    result = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
    joined = assert_clean_failure(result, "endpoints.echo", "rolled back", "cannot load this model")
    assert before["endpoint_configs.echo"]["physical_name"] in joined
    state = read_state(path)["resources"]
    live_config = before["endpoint_configs.echo"]["physical_name"]
    assert state["endpoints.echo"]["attributes"]["endpoint_config_name"] == live_config
    assert state["endpoints.echo"]["spec"]["endpoint_config_name"] == live_config
    sm, _ = clients(server.url)
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    assert live_config in configs and before["models.echo"]["physical_name"] in models
    assert invoke(path, env) == "blue"
    planned = run_cli(["plan", "--json"], path, env)
    changes = {c["address"]: c["action"] for c in json.loads(planned.out)["changes"]}
    assert changes.get("endpoints.echo") == "update"
    switch_artifact(path, "blue")
    healed = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
    assert healed.code == 0, str(healed)
    assert run_cli(["plan", "--detailed-exitcode"], path, env).code == 0
    assert run_cli(["destroy", "--auto-approve"], path, env, timeout=120).code == 0


def test_adopts_its_own_endpoint_after_a_crash(tmp_path: Path, server: ServerProcess) -> None:
    env = cli_env(None)
    path = project(tmp_path, server)
    assert run_cli(["apply", "--auto-approve"], path, env, timeout=120).code == 0
    state = read_state(path)
    arn = state["resources"]["endpoints.echo"]["arn"]
    del state["resources"]["endpoints.echo"]
    write_state(path, state)
    again = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
    assert again.code == 0, str(again)
    assert read_state(path)["resources"]["endpoints.echo"]["arn"] == arn
    sm, _ = clients(server.url)
    assert [e["EndpointName"] for e in sm.list_endpoints(NameContains="echo")["Endpoints"]] == ["echo"]
    assert run_cli(["destroy", "--auto-approve"], path, env, timeout=120).code == 0


def test_refuses_an_endpoint_it_does_not_own(tmp_path: Path, server: ServerProcess) -> None:
    env = cli_env(None)
    sm, _ = clients(server.url)
    tar = model_tar(tmp_path / "hand", "hand")
    sm.create_model(ModelName="hand", PrimaryContainer={"Image": "x", "ModelDataUrl": str(tar)})
    sm.create_endpoint_config(
        EndpointConfigName="hand",
        ProductionVariants=[{"VariantName": "a", "ModelName": "hand", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )
    sm.create_endpoint(EndpointName="echo", EndpointConfigName="hand")
    try:
        path = project(tmp_path / "p", server)
        models = sm.list_models()["Models"]
        result = run_cli(["apply", "--auto-approve"], path, env, timeout=120)
        assert_clean_failure(result, "endpoints.echo", "already exists", "smstate import endpoints.echo echo")
        assert sm.describe_endpoint(EndpointName="echo")["EndpointConfigName"] == "hand"
        assert not (path / "state" / "default.json").exists()  # refused at plan: nothing created, nothing recorded
        assert sm.list_models()["Models"] == models
        assert run_cli(["destroy", "--auto-approve"], path, env, timeout=120).code == 0
    finally:
        sm.delete_endpoint(EndpointName="echo")


PACKAGES = """\
provider: {{type: local, url: "{url}"}}
model_package_groups:
  churn: {{model_package_group_description: Churn classifiers}}
model_packages:
  churn:
    model_package_group_name: ${{model_package_groups.churn.name}}
    inference_specification:
      containers: [{{image: "{image}", model_data_url: "s3://bucket/churn.tar.gz"}}]
      supported_content_types: [text/csv]
      supported_response_mime_types: [text/csv]
    model_approval_status: {status}
"""


def test_model_packages_update_version_and_delete(tmp_path: Path, server: ServerProcess) -> None:
    env = cli_env(None)
    sm, _ = clients(server.url)
    config = tmp_path / "smstate.yaml"
    config.write_text(PACKAGES.format(url=server.url, image="img:1", status="PendingManualApproval"))
    assert run_cli(["apply", "--auto-approve"], tmp_path, env).code == 0
    first = read_state(tmp_path)["resources"]["model_packages.churn"]
    assert first["version"] == 1
    config.write_text(PACKAGES.format(url=server.url, image="img:1", status="Approved"))
    approved = run_cli(["apply", "--auto-approve"], tmp_path, env)
    assert approved.code == 0 and "0 added, 1 changed, 0 destroyed" in approved.out, str(approved)
    assert sm.describe_model_package(ModelPackageName=first["arn"])["ModelApprovalStatus"] == "Approved"
    config.write_text(PACKAGES.format(url=server.url, image="img:2", status="Approved"))
    versioned = run_cli(["apply", "--auto-approve"], tmp_path, env)
    assert versioned.code == 0 and "1 added, 0 changed, 1 destroyed" in versioned.out, str(versioned)
    second = read_state(tmp_path)["resources"]["model_packages.churn"]
    assert second["version"] == 2 and second["arn"] != first["arn"]
    listed = sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [second["arn"]]
    assert run_cli(["plan", "--detailed-exitcode"], tmp_path, env).code == 0
    gone = run_cli(["destroy", "--auto-approve"], tmp_path, env)
    assert gone.code == 0, str(gone)
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert read_state(tmp_path)["resources"] == {}


def test_quickstart_example_copies_cleanly(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    shutil.copytree(source, tmp_path / "qs", ignore=shutil.ignore_patterns("build", "state"))
    result = run_cli(["validate"], tmp_path / "qs", cli_env(None))
    assert result.code == 1 and "model artifact not found" in result.err

"""The commands around plan and apply: state, output, graph, schema, workspace, force-unlock."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Aws, Project
from .helpers import assert_clean_failure, cli_env, read_state, run_cli, state_path

ADDRESSES = ["endpoint_configs.churn", "endpoints.churn", "model_package_groups.churn", "model_packages.churn-v1", "models.churn"]


def test_state_list_show_rm(shared_copy: Project, account: Aws) -> None:
    listed = shared_copy.run("state", "list")
    assert listed.code == 0, str(listed)
    assert listed.out.split() == ADDRESSES

    shown = shared_copy.run("state", "show", "models.churn")
    assert shown.code == 0, str(shown)
    recorded = json.loads(shown.out)
    assert recorded["type"] == "model"
    assert recorded["physical_name"] == account.model_names()[0]
    assert recorded["arn"] == account.sagemaker.describe_model(ModelName=recorded["physical_name"])["ModelArn"]
    assert recorded["dependencies"] == []
    config = json.loads(shared_copy.run("state", "show", "endpoint_configs.churn").out)
    assert config["dependencies"] == ["models.churn"]

    serial = shared_copy.state()["serial"]
    removed = shared_copy.run("state", "rm", "endpoints.churn")
    assert removed.code == 0, str(removed)
    assert "endpoints.churn" in removed.out
    state = shared_copy.state()
    assert "endpoints.churn" not in state["resources"]
    assert state["serial"] > serial
    assert account.endpoint_names() == ["churn"]  # the object itself is untouched
    assert account.sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    assert not state_path(shared_copy.dir).with_name("default.json.lock").exists()
    assert shared_copy.run("state", "list").out.split() == [a for a in ADDRESSES if a != "endpoints.churn"]

    before = state_path(shared_copy.dir).read_bytes()
    assert_clean_failure(shared_copy.run("state", "rm", "endpoints.churn"), "endpoints.churn")
    assert_clean_failure(shared_copy.run("state", "show", "nope"), "'nope'")
    assert state_path(shared_copy.dir).read_bytes() == before


def test_output(shared_applied: Project, account: Aws) -> None:
    [model] = account.model_names()

    every = shared_applied.run("output")
    assert every.code == 0, str(every)
    assert every.out.splitlines() == ['endpoint = "churn"', f'model = "{model}"']

    raw = shared_applied.run("output", "model", "--raw")
    assert (raw.code, raw.out) == (0, model + "\n")
    quoted = shared_applied.run("output", "endpoint")
    assert (quoted.code, quoted.out) == (0, '"churn"\n')
    as_json = shared_applied.run("output", "--json")
    assert json.loads(as_json.out) == {"endpoint": "churn", "model": model}

    assert_clean_failure(shared_applied.run("output", "nope"), "'nope'", "endpoint", "model")


def test_graph(shared_applied: Project) -> None:
    result = shared_applied.run("graph", "--var-file", str(shared_applied.var_file))

    assert result.code == 0, str(result)
    dot = result.out
    assert dot.startswith("digraph")
    assert '"endpoints.churn" -> "endpoint_configs.churn"' in dot
    assert '"endpoint_configs.churn" -> "models.churn"' in dot
    assert '"model_packages.churn-v1" -> "model_package_groups.churn"' in dot


def test_schema(tmp_path: Path, moto_url: str) -> None:
    result = run_cli(["schema"], tmp_path, cli_env(moto_url))  # needs no config

    assert result.code == 0, str(result)
    schema = json.loads(result.out)
    model = schema["properties"]["models"]["additionalProperties"]
    assert "primary_container" in model["properties"]
    assert "execution_role_arn" in model["properties"]
    assert model["additionalProperties"] is False
    for section in ("endpoint_configs", "endpoints", "model_package_groups", "model_packages", "variables", "provider"):
        assert section in schema["properties"], section


def test_workspaces(shared_copy: Project) -> None:
    project = shared_copy
    default_state = state_path(project.dir).read_bytes()
    assert project.run("workspace", "list").out.splitlines() == ["* default"]

    created = project.run("workspace", "new", "staging")

    assert created.code == 0, str(created)
    assert read_state(project.dir, "staging")["resources"] == {}
    assert project.run("workspace", "list").out.splitlines() == ["  default", "* staging"]
    assert project.run("state", "list").out == ""  # staging's own, empty state
    # SMSTATE_WORKSPACE overrides the selection
    assert project.run("state", "list", env={"SMSTATE_WORKSPACE": "default"}).out.split() == ADDRESSES
    assert_clean_failure(project.run("workspace", "new", "staging"), "already exists")
    assert_clean_failure(project.run("workspace", "delete", "staging"), "selected")
    assert_clean_failure(project.run("workspace", "select", "prod"), "'prod'", "workspace new prod")

    assert project.run("workspace", "select", "default").code == 0
    assert project.run("workspace", "show").out.strip() == "default"
    assert_clean_failure(project.run("workspace", "delete", "default"), "default")
    deleted = project.run("workspace", "delete", "staging")
    assert deleted.code == 0, str(deleted)
    assert not state_path(project.dir, "staging").exists()
    assert state_path(project.dir).read_bytes() == default_state

    # a workspace whose state still manages objects is not deleted
    state_path(project.dir, "other").write_bytes(default_state)
    assert_clean_failure(project.run("workspace", "delete", "other"), "still manages objects")
    assert state_path(project.dir, "other").exists()


def test_force_unlock(shared_copy: Project) -> None:
    project = shared_copy
    assert_clean_failure(project.run("force-unlock", "some-id"), "not locked")

    lock = state_path(project.dir).with_name("default.json.lock")
    lock.write_text("{not json")
    refused = project.plan()
    assert_clean_failure(refused, "locked", "force-unlock unreadable")
    assert_clean_failure(project.run("force-unlock", "some-id"), "unreadable")
    assert lock.exists()
    assert project.run("force-unlock", "unreadable").code == 0
    assert not lock.exists()

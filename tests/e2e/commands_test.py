"""The commands around plan and apply: state, output, graph, schema, workspace, force-unlock."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Aws, Project
from .helpers import assert_clean_failure, cli_env, read_state, run_cli, state_path

ADDRESSES = ["endpoint_configs.churn", "endpoints.churn", "model_package_groups.churn", "model_packages.churn-v1", "models.churn"]


def test_state_list_show_rm(applied: Project, aws: Aws) -> None:
    listed = applied.run("state", "list")
    assert listed.code == 0, str(listed)
    assert listed.out.split() == ADDRESSES

    shown = applied.run("state", "show", "models.churn")
    assert shown.code == 0, str(shown)
    recorded = json.loads(shown.out)
    assert recorded["type"] == "model"
    assert recorded["physical_name"] == aws.model_names()[0]
    assert recorded["arn"] == aws.sagemaker.describe_model(ModelName=recorded["physical_name"])["ModelArn"]
    assert recorded["dependencies"] == []
    config = json.loads(applied.run("state", "show", "endpoint_configs.churn").out)
    assert config["dependencies"] == ["models.churn"]

    serial = applied.state()["serial"]
    removed = applied.run("state", "rm", "endpoints.churn")
    assert removed.code == 0, str(removed)
    assert "endpoints.churn" in removed.out
    state = applied.state()
    assert "endpoints.churn" not in state["resources"]
    assert state["serial"] > serial
    assert aws.endpoint_names() == ["churn"]  # the object itself is untouched
    assert aws.sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    assert not state_path(applied.dir).with_name("default.json.lock").exists()
    assert applied.run("state", "list").out.split() == [a for a in ADDRESSES if a != "endpoints.churn"]

    before = state_path(applied.dir).read_bytes()
    assert_clean_failure(applied.run("state", "rm", "endpoints.churn"), "endpoints.churn")
    assert_clean_failure(applied.run("state", "show", "nope"), "'nope'")
    assert state_path(applied.dir).read_bytes() == before


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


def test_workspaces(applied: Project) -> None:
    default_state = state_path(applied.dir).read_bytes()

    listed = applied.run("workspace", "list")
    assert listed.code == 0, str(listed)
    assert listed.out.splitlines() == ["* default"]

    created = applied.run("workspace", "new", "staging")
    assert created.code == 0, str(created)
    assert read_state(applied.dir, "staging")["resources"] == {}
    assert applied.run("workspace", "show").out.strip() == "staging"
    assert applied.run("workspace", "list").out.splitlines() == ["  default", "* staging"]
    assert applied.run("state", "list").out == ""  # staging's state is empty
    assert applied.run("output").out == ""
    plan = applied.plan("--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in plan.out
    # SMSTATE_WORKSPACE overrides the selection
    assert applied.run("state", "list", env={"SMSTATE_WORKSPACE": "default"}).out.split() == ADDRESSES

    assert_clean_failure(applied.run("workspace", "new", "staging"), "already exists")
    assert_clean_failure(applied.run("workspace", "delete", "staging"), "selected")
    assert_clean_failure(applied.run("workspace", "select", "prod"), "'prod'", "workspace new prod")
    assert_clean_failure(applied.run("workspace", "new", "bad/name"), "invalid workspace name")

    selected = applied.run("workspace", "select", "default")
    assert selected.code == 0, str(selected)
    assert applied.run("state", "list").out.split() == ADDRESSES
    assert_clean_failure(applied.run("workspace", "delete", "default"), "default")
    deleted = applied.run("workspace", "delete", "staging")
    assert deleted.code == 0, str(deleted)
    assert not state_path(applied.dir, "staging").exists()
    assert applied.run("workspace", "list").out.splitlines() == ["* default"]
    assert state_path(applied.dir).read_bytes() == default_state


def test_workspace_with_objects_cannot_be_deleted(applied: Project) -> None:
    assert applied.run("workspace", "new", "other").code == 0

    result = applied.run("workspace", "delete", "default")
    assert_clean_failure(result, "default")
    assert applied.run("workspace", "select", "default").code == 0
    # the default workspace manages objects; make "other" look the same by copying the statefile
    state_path(applied.dir, "other").write_bytes(state_path(applied.dir).read_bytes())
    assert_clean_failure(applied.run("workspace", "delete", "other"), "still manages objects")
    assert state_path(applied.dir, "other").exists()


def test_force_unlock(applied: Project) -> None:
    assert_clean_failure(applied.run("force-unlock", "some-id"), "not locked")

    lock = state_path(applied.dir).with_name("default.json.lock")
    lock.write_text("{not json")
    refused = applied.plan()
    assert_clean_failure(refused, "locked", "force-unlock unreadable")
    assert_clean_failure(applied.run("force-unlock", "some-id"), "unreadable")
    assert lock.exists()
    assert applied.run("force-unlock", "unreadable").code == 0
    assert not lock.exists()
    assert applied.plan("--detailed-exitcode").code == 0

"""A sensitive variable reaches SageMaker, and never the statefile, the plan or the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import Aws, Project
from .helpers import assert_clean_failure, cli_env, run_cli, state_path

SECRET = "tok-8c1f7e2a-do-not-print"
OTHER_SECRET = "tok-0b9d44e1-rotated"


def _with_token(project: Project) -> None:
    project.edit("  team:\n    default: risk\n", "  team:\n    default: risk\n  token:\n    sensitive: true\n")
    project.edit("        SAGEMAKER_PROGRAM: inference.py\n", "        SAGEMAKER_PROGRAM: inference.py\n        API_TOKEN: ${var.token}\n")


def _everything_written(project: Project) -> str:
    files = [p for p in (project.dir / "state").iterdir() if p.is_file()]
    assert files
    return "\n".join(p.read_text() for p in files)


def test_sensitive_variable_is_never_shown_or_stored(project: Project, aws: Aws) -> None:
    _with_token(project)

    plan = project.plan("--var", f"token={SECRET}")
    assert plan.code == 0, str(plan)
    assert SECRET not in plan.out + plan.err
    assert "primary_container.environment.API_TOKEN = (sensitive)" in plan.out

    plan_json = project.plan("--json", "--var", f"token={SECRET}")
    assert plan_json.code == 0, str(plan_json)
    assert SECRET not in plan_json.out + plan_json.err
    [model] = [c for c in json.loads(plan_json.out)["changes"] if c["address"] == "models.churn"]
    assert model["after"]["primary_container"]["environment"]["API_TOKEN"] == "(sensitive)"

    applied = project.apply("--var", f"token={SECRET}")
    assert applied.code == 0, str(applied)
    assert SECRET not in applied.out + applied.err
    assert "Resources: 5 added" in applied.out

    # SageMaker got the value; smstate's files did not
    [name] = aws.model_names()
    assert aws.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]["Environment"]["API_TOKEN"] == SECRET

    # the same value from the environment: nothing to do
    same = project.plan("--detailed-exitcode", env={"SMSTATE_VAR_token": SECRET})
    assert same.code == 0, str(same)
    assert "No changes." in same.out

    # a new value: the model is replaced, and neither value is printed
    rotated = project.plan("--detailed-exitcode", "--var", f"token={OTHER_SECRET}")
    assert rotated.code == 2, str(rotated)
    assert SECRET not in rotated.out and OTHER_SECRET not in rotated.out
    assert "models.churn must be replaced" in rotated.out
    assert "(sensitive) -> (sensitive)" in rotated.out

    # last, what was written: the statefile (and its backup) and `state show`
    shown = project.run("state", "show", "models.churn")
    assert json.loads(shown.out)["spec"]["primary_container"]["environment"]["API_TOKEN"] == "(sensitive)"
    assert SECRET not in shown.out
    assert state_path(project.dir).with_name("default.json.backup").exists()
    assert SECRET not in _everything_written(project)


def test_missing_sensitive_variable_is_reported_without_a_value(project: Project) -> None:
    _with_token(project)

    result = project.plan()

    assert result.code == 1, str(result)
    assert result.errors == [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert any("variables.token" in line for line in result.errors), str(result)


def _keyed_values(state: dict[str, Any]) -> set[str]:
    """The keyed hashes a state holds: of sensitive values, and of the request that carries them."""
    found = set(re.findall(r"\(sensitive:[0-9a-f]+\)", json.dumps(state)))
    return found | {o["spec_hash"] for a, o in state["resources"].items() if a == "models.churn"}


def test_the_state_key_lives_beside_the_state_and_rotates(project: Project, aws: Aws) -> None:
    _with_token(project)
    token = {"SMSTATE_VAR_token": SECRET}
    assert project.apply(env=token).code == 0
    key_file = state_path(project.dir).with_name("default.json.key")
    assert key_file.stat().st_mode & 0o777 == 0o600
    first_key, first = key_file.read_bytes(), project.state()
    assert first["key_id"] and first_key.strip().decode() not in state_path(project.dir).read_text()
    names = aws.model_names()

    rotated = project.run("state", "rotate-key", "--var-file", str(project.var_file), env=token)
    assert rotated.code == 0 and first["key_id"] in rotated.out and SECRET not in rotated.out + rotated.err, str(rotated)
    second = project.state()
    assert key_file.read_bytes() != first_key and second["key_id"] != first["key_id"]
    assert second["serial"] == first["serial"] + 1 and not _keyed_values(first) & _keyed_values(second)
    same = project.plan("--detailed-exitcode", env=token)
    assert same.code == 0 and "No changes." in same.out, str(same)  # nothing renamed, nothing replaced
    assert aws.model_names() == names

    # a state read with another key is refused, and left as it was
    written = state_path(project.dir).read_bytes()
    kept = key_file.read_bytes()
    key_file.write_text("another-key-0123456789abcdef\n")
    wrong = project.plan(env=token)
    assert_clean_failure(wrong, "another state key", str(key_file))
    key_file.unlink()
    missing = project.plan(env=token)
    assert_clean_failure(missing, "missing", str(key_file))
    assert state_path(project.dir).read_bytes() == written

    # a key given by the user: SMSTATE_STATE_KEY, the stored one as SMSTATE_STATE_KEY_PREVIOUS, then apply
    key_file.write_bytes(kept)
    mine = {**token, "SMSTATE_STATE_KEY": "my-own-state-key-4e1f9a0b2c", "SMSTATE_STATE_KEY_PREVIOUS": kept.decode().strip()}
    moved = project.apply(env=mine)
    assert moved.code == 0 and "Resources:" not in moved.out, str(moved)
    assert project.state()["key_id"] != second["key_id"]
    again = project.plan("--detailed-exitcode", env={**token, "SMSTATE_STATE_KEY": mine["SMSTATE_STATE_KEY"]})
    assert again.code == 0, str(again)
    assert_clean_failure(project.plan(env=token), "another state key")  # the stored key no longer fits

    # a key lost for good: hashed anew, and what held the secret is replaced
    lost = project.run("state", "rotate-key", "--lost", "--var-file", str(project.var_file), env=token)
    assert lost.code == 0, str(lost)
    after = project.plan("--detailed-exitcode", env=token)
    assert after.code == 2 and "models.churn must be replaced" in after.out and SECRET not in after.out, str(after)


@pytest.mark.parametrize(("value", "kind"), [('["s3cr3t-in-a-list"]', "list"), ('{"k": "s3cr3t-in-a-map"}', "map")])
def test_a_sensitive_list_or_map_in_a_string_is_named_as_the_user_typed_it(tmp_path: Path, value: str, kind: str) -> None:
    """The error says `list` or `map` (the variable's type), not the class that carries its sensitivity, and no value."""
    (tmp_path / "smstate.yaml").write_text(
        f"variables:\n  token: {{type: {kind}, sensitive: true}}\n"
        'models:\n  m:\n    primary_container: {image: "img:1", model_data_url: "s3://b/${var.token}.tar.gz"}\n'
    )
    result = run_cli(["validate", "--var", f"token={value}"], tmp_path, cli_env(None))
    joined = assert_clean_failure(result, f"${{var.token}} is a {kind} and cannot be part of a string")
    assert "Secret" not in joined and "s3cr3t" not in result.out + result.err

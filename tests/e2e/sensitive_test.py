"""A sensitive variable reaches SageMaker, and never the statefile, the plan or the terminal (DESIGN 5)."""

from __future__ import annotations

import json

from .conftest import Aws, Project
from .helpers import state_path

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

"""Saved plans: `plan --out FILE` then `apply FILE`, refused once the state has moved on."""

from __future__ import annotations

import stat
from pathlib import Path

from .conftest import Aws, Project
from .helpers import assert_clean_failure, state_path, tags_of


def test_saved_plan_applies_what_was_reviewed(applied: Project, aws: Aws) -> None:
    plan_file = applied.dir / "p.json"
    planned = applied.plan("--out", str(plan_file), "--var", "team=growth")
    assert planned.code == 0, str(planned)
    assert "Plan: 0 to add, 3 to change, 0 to destroy." in planned.out
    assert f"smstate apply {plan_file}" in planned.out
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600
    applied.edit("default: risk", "default: edited-after-the-plan")

    # the plan carries its config and variables: no --var-file, no --var, and the edit is ignored
    result = applied.run("apply", str(plan_file))

    assert result.code == 0, str(result)
    assert "Apply complete! Resources: 0 added, 3 changed, 0 destroyed." in result.out
    endpoint_arn = applied.state()["resources"]["endpoints.churn"]["arn"]
    assert tags_of(aws.sagemaker, endpoint_arn)["team"] == "growth"
    applied.edit("default: edited-after-the-plan", "default: risk")
    assert applied.plan("--var", "team=growth", "--detailed-exitcode").code == 0


def test_saved_plan_of_the_first_apply(project: Project, aws: Aws) -> None:
    """Before any state exists: the plan's lineage must be the one the first apply records."""
    plan_file = project.dir / "p.json"
    planned = project.plan("--out", str(plan_file))
    assert planned.code == 0, str(planned)
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in planned.out

    result = project.run("apply", str(plan_file))

    assert result.code == 0, str(result)
    assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in result.out
    assert aws.endpoint_names() == ["churn"]


def test_stale_saved_plan_is_refused(applied: Project, aws: Aws) -> None:
    plan_file = applied.dir / "p2.json"
    assert applied.plan("--out", str(plan_file), "--var", "team=growth").code == 0
    moved_on = applied.apply("--var", "team=ops")
    assert moved_on.code == 0, str(moved_on)
    before = state_path(applied.dir).read_bytes()

    result = applied.run("apply", str(plan_file))

    error = assert_clean_failure(result, "stale", "smstate plan")
    assert str(plan_file) in error
    assert state_path(applied.dir).read_bytes() == before
    endpoint_arn = applied.state()["resources"]["endpoints.churn"]["arn"]
    assert tags_of(aws.sagemaker, endpoint_arn)["team"] == "ops"


def test_garbage_plan_file_is_one_error(shared_applied: Project, tmp_path: Path) -> None:
    before = state_path(shared_applied.dir).read_bytes()
    for name, content in (("garbage.json", "\x00not a plan{{{"), ("other.json", '{"format_version": 1, "changes": []}')):
        path = tmp_path / name
        path.write_text(content)

        result = shared_applied.run("apply", str(path))

        assert_clean_failure(result, name, "not a plan file")
        assert state_path(shared_applied.dir).read_bytes() == before

    missing = shared_applied.run("apply", str(tmp_path / "missing.json"))
    assert_clean_failure(missing, "missing.json")
    assert state_path(shared_applied.dir).read_bytes() == before

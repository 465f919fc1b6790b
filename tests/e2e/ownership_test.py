"""Objects smstate did not create are never adopted; objects it did create are, after a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import Aws, Project
from .helpers import assert_clean_failure, run_cli, state_path, write_state


def _hand_made_endpoint(aws: Aws) -> None:
    sm = aws.sagemaker
    sm.create_model(
        ModelName="by-hand",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/someone-else",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/theirs:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="by-hand",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "by-hand", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="by-hand", Tags=[{"Key": "owner", "Value": "them"}])


def test_plan_and_apply_refuse_an_endpoint_they_did_not_create_before_creating_anything(project: Project, aws: Aws) -> None:
    _hand_made_endpoint(aws)

    plan = project.plan()

    error = assert_clean_failure(plan, "endpoints.churn", "'churn'", "already exists", "not created by smstate")
    assert "smstate import endpoints.churn churn" in error
    assert "Plan:" not in plan.out

    result = project.apply()

    assert assert_clean_failure(result, "endpoints.churn", "not created by smstate") == error
    assert not state_path(project.dir).exists()  # nothing was created, so nothing to record
    assert aws.model_names() == ["by-hand"]
    assert aws.endpoint_config_names() == ["by-hand"]
    assert aws.group_names() == []
    assert aws.sagemaker.describe_endpoint(EndpointName="churn")["EndpointConfigName"] == "by-hand"


def test_plan_refuses_a_group_of_another_state_and_adopts_its_own(applied: Project, aws: Aws, tmp_path: Path) -> None:
    """Model package groups are named by their logical name too; the first state's own objects stay adoptable."""
    other = tmp_path / "elsewhere"
    shutil.copytree(applied.dir, other, ignore=shutil.ignore_patterns("state", ".smstate"))
    lineage = applied.state()["lineage"]
    models = aws.model_names()

    result = run_cli(["plan", "--var-file", str(applied.var_file), "--target", "model_package_groups.churn"], other, applied.env)

    assert_clean_failure(result, "model_package_groups.churn", "'churn'", f"belongs to another state (lineage {lineage})",
                         "smstate import model_package_groups.churn churn")
    assert not state_path(other).exists()
    assert aws.model_names() == models
    assert applied.plan("--detailed-exitcode").code == 0


def test_apply_refuses_objects_of_another_state(shared_applied: Project, tmp_path: Path) -> None:
    """The same config applied from a second directory (another lineage) must not take over the first's objects."""
    other = tmp_path / "elsewhere"
    shutil.copytree(shared_applied.dir, other, ignore=shutil.ignore_patterns("state"))
    lineage = shared_applied.state()["lineage"]

    result = run_cli(["apply", "--auto-approve", "--var-file", str(shared_applied.var_file)], other, shared_applied.env)

    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert result.errors, str(result)
    assert all("belongs to another state" in line and lineage in line for line in result.errors), str(result)
    assert any(line.startswith("Error: models.churn:") for line in result.errors), str(result)
    # the first state still owns everything, unchanged
    assert shared_applied.plan("--detailed-exitcode").code == 0


def test_apply_adopts_what_it_created_before_a_crash(applied: Project, aws: Aws) -> None:
    state = applied.state()
    endpoint = state["resources"].pop("endpoints.churn")
    model = state["resources"].pop("models.churn")
    write_state(applied.dir, state)  # as if the run died after CreateModel/CreateEndpoint, before saving

    plan = applied.plan("--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.out

    result = applied.apply()

    assert result.code == 0, str(result)
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in result.out
    assert aws.endpoint_names() == ["churn"]
    assert aws.model_names() == [model["physical_name"]]
    resources = applied.state()["resources"]
    assert resources["endpoints.churn"]["arn"] == endpoint["arn"]
    assert resources["models.churn"]["arn"] == model["arn"]
    assert applied.plan("--detailed-exitcode").code == 0

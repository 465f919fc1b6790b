"""destroy: targeted (a destroy target takes its dependents along) and whole."""

from __future__ import annotations

from pathlib import Path

from .conftest import ROLE, Aws, Project
from .helpers import assert_clean_failure, cli_env, read_state, run_cli

SMALL = f"""\
provider:
  type: aws
  region: us-east-1
models:
  web:
    execution_role_arn: {ROLE}
    primary_container:
      image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3
      model_data_url: s3://smstate-examples/web/model.tar.gz
endpoint_configs:
  web:
    production_variants:
      - variant_name: primary
        model_name: ${{models.web.name}}
        instance_type: ml.m5.large
        initial_instance_count: 1
endpoints:
  web:
    endpoint_config_name: ${{endpoint_configs.web.name}}
"""


def test_destroy_target_endpoint_leaves_what_it_uses(applied: Project, aws: Aws) -> None:
    model = applied.state()["resources"]["models.churn"]["physical_name"]
    config = applied.state()["resources"]["endpoint_configs.churn"]["physical_name"]

    result = applied.destroy("--target", "endpoints.churn")

    assert result.code == 0, str(result)
    assert "Destroy complete! Resources: 0 added, 0 changed, 1 destroyed." in result.out
    assert aws.endpoint_names() == []
    assert aws.endpoint_config_names() == [config]
    assert aws.model_names() == [model]
    assert "endpoints.churn" not in applied.state()["resources"]
    assert len(applied.state()["resources"]) == 4


def test_destroy_target_model_takes_its_dependents_along(applied: Project, aws: Aws) -> None:
    result = applied.destroy("--target", "models.churn")

    assert result.code == 0, str(result)
    assert "Destroy complete! Resources: 0 added, 0 changed, 3 destroyed." in result.out
    assert aws.model_names() == aws.endpoint_config_names() == aws.endpoint_names() == []
    assert aws.group_names() == ["churn"]
    assert sorted(applied.state()["resources"]) == ["model_package_groups.churn", "model_packages.churn-v1"]


def test_destroy_everything_keeps_track_of_what_could_not_be_deleted(applied: Project, aws: Aws) -> None:
    # moto cannot delete model packages (HTTP 500); do not let botocore retry that 8 times
    applied.edit("  region: us-east-1\n", "  region: us-east-1\n  max_attempts: 1\n")

    result = applied.destroy()

    error = assert_clean_failure(result, "model_packages.churn-v1")
    assert "Destroy complete!" not in result.out
    assert aws.model_names() == aws.endpoint_config_names() == aws.endpoint_names() == []
    # the group still holds the package, so it stays too, and both stay in state
    assert aws.group_names() == ["churn"]
    resources = applied.state()["resources"]
    assert sorted(resources) == ["model_package_groups.churn", "model_packages.churn-v1"]
    package_arn = resources["model_packages.churn-v1"]["arn"]
    assert package_arn in error
    [listed] = aws.sagemaker.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert listed["ModelPackageArn"] == package_arn
    listing = applied.run("state", "list")
    assert listing.out.split() == ["model_package_groups.churn", "model_packages.churn-v1"]
    # moto answers with an HTML error page: the message must stay one readable line, not the page
    assert "<html" not in result.err.lower(), result.err


def test_destroy_without_model_packages_empties_the_account(tmp_path: Path, aws: Aws) -> None:
    (tmp_path / "smstate.yaml").write_text(SMALL)
    env = cli_env(aws.url)
    applied = run_cli(["apply", "--auto-approve"], tmp_path, env)
    assert applied.code == 0, str(applied)
    assert "Resources: 3 added, 0 changed, 0 destroyed." in applied.out
    assert aws.endpoint_names() == ["web"]

    result = run_cli(["destroy", "--auto-approve"], tmp_path, env)

    assert result.code == 0, str(result)
    assert "Destroy complete! Resources: 0 added, 0 changed, 3 destroyed." in result.out
    assert aws.model_names() == aws.endpoint_config_names() == aws.endpoint_names() == []
    assert read_state(tmp_path)["resources"] == {}
    assert run_cli(["plan", "--destroy", "--detailed-exitcode"], tmp_path, env).code == 0

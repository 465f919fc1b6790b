"""Where every AWS service smstate calls is reached, and what a user sees when it cannot be.

`provider.endpoint_url` points every service at one server (as AWS_ENDPOINT_URL does),
`provider.endpoints` overrides one, `AWS_ENDPOINT_URL_<SERVICE>` works as botocore defines
it; a bad profile, region or unreachable service is one `Error:` line and no state change.
"""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest

from .conftest import Aws, Project
from .helpers import assert_clean_failure, cli_env, run_cli, state_path

REGION_LINE = "  region: us-east-1\n"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _without_endpoint_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}


def _provider(project: Project, lines: str) -> None:
    project.edit(REGION_LINE, REGION_LINE + lines)


def test_endpoint_url_in_the_config_sends_ec2_to_that_server(project: Project, aws: Aws) -> None:
    """The VPC check at plan (EC2) reaches the moto server named in the config, not AWS."""
    _provider(project, f'  endpoint_url: "{aws.url}"\n')
    env = _without_endpoint_env(project.env)

    result = run_cli(["plan", "--var-file", str(project.var_file)], project.dir, env)

    assert result.code == 0, str(result)
    assert "Plan: 5 to add" in result.out
    missing = project.var_file.read_text().replace(project.subnet, "subnet-0000000000000dead")
    project.var_file.write_text(missing)
    refused = run_cli(["plan", "--var-file", str(project.var_file)], project.dir, env)
    assert_clean_failure(refused, "subnet-0000000000000dead", "do not exist")


def test_endpoint_url_in_the_config_sends_the_artifact_upload_to_that_server(tmp_path: Path, aws: Aws) -> None:
    boto3.client("s3", endpoint_url=aws.url, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="arts")
    (tmp_path / "model.tar.gz").write_bytes(b"weights")
    (tmp_path / "smstate.yaml").write_text(
        f'provider: {{type: aws, region: us-east-1, endpoint_url: "{aws.url}", artifact_bucket: arts}}\n'
        "models:\n  m:\n    execution_role_arn: arn:aws:iam::123456789012:role/r\n"
        "    primary_container: {image: 'img:1', model_data_url: ./model.tar.gz}\n"
    )

    result = run_cli(["apply", "--auto-approve"], tmp_path, _without_endpoint_env(aws.env))

    assert result.code == 0, str(result)
    (name,) = aws.model_names()
    url = aws.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]["ModelDataUrl"]
    assert url.startswith("s3://arts/smstate/artifacts/")
    s3 = boto3.client("s3", endpoint_url=aws.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    assert s3.get_object(Bucket="arts", Key=url.removeprefix("s3://arts/"))["Body"].read() == b"weights"


@pytest.mark.parametrize("how", ["endpoints", "environment"])
def test_one_service_elsewhere_that_is_unreachable_is_one_error_naming_it(project: Project, how: str) -> None:
    """`endpoints: {ec2: URL}` (or AWS_ENDPOINT_URL_EC2) overrides one service; refused connections name it."""
    down = _closed_port_url()
    env = dict(project.env)
    if how == "endpoints":
        _provider(project, f'  max_attempts: 1\n  endpoints: {{ec2: "{down}"}}\n')
    else:
        _provider(project, "  max_attempts: 1\n")
        env["AWS_ENDPOINT_URL_EC2"] = down

    result = run_cli(["plan", "--var-file", str(project.var_file)], project.dir, env)

    assert_clean_failure(result, "ec2 DescribeSubnets", down, "cannot connect")
    assert not state_path(project.dir).exists()


def test_a_host_that_does_not_resolve_is_one_error_naming_it(project: Project) -> None:
    _provider(project, '  max_attempts: 1\n  endpoints: {ec2: "http://smstate-nosuch.invalid:4566"}\n')

    result = project.plan()

    assert_clean_failure(result, "ec2 DescribeSubnets", "http://smstate-nosuch.invalid:4566", "cannot connect")


def test_an_unknown_service_in_endpoints_is_a_config_error(project: Project) -> None:
    _provider(project, '  endpoints: {sagemkaer: "http://127.0.0.1:1", sagemaker_runtime: "http://127.0.0.1:1"}\n')

    result = project.run("validate", "--var-file", str(project.var_file))

    assert_clean_failure(result, "provider.endpoints", "unknown AWS service 'sagemkaer' (did you mean 'sagemaker'?)",
                         "'sagemaker_runtime' (did you mean 'sagemaker-runtime'?)")


def test_no_credentials_is_one_error_naming_the_service(project: Project, aws: Aws) -> None:
    env = {k: v for k, v in project.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"

    result = run_cli(["plan", "--var-file", str(project.var_file)], project.dir, env)

    assert_clean_failure(result, "at " + aws.url, "no AWS credentials found")
    assert not state_path(project.dir).exists()


@pytest.mark.parametrize(
    "setting, env, needle",
    [
        ("  profile: nosuch\n", {}, "AWS profile 'nosuch'"),
        ("", {"AWS_PROFILE": "nosuch"}, "AWS profile 'nosuch'"),
        ('  region: "us east 1!"\n', {}, "region 'us east 1!'"),
    ],
)
def test_a_bad_profile_or_region_is_one_error(project: Project, setting: str, env: dict[str, str], needle: str) -> None:
    if setting.startswith("  region"):
        project.edit(REGION_LINE, setting)
    else:
        _provider(project, setting)

    for command in ("plan", "apply"):
        result = project.run(command, "--var-file", str(project.var_file), *(("--auto-approve",) * (command == "apply")),
                             env=env)
        assert_clean_failure(result, needle)
    assert not state_path(project.dir).exists()


@pytest.mark.parametrize(
    "setting, needle", [("profile: nosuch", "AWS profile 'nosuch'"), ('region: "us east 1!"', "region 'us east 1!'")]
)
def test_a_bad_profile_or_region_for_the_s3_backend_is_one_error(tmp_path: Path, aws: Aws, setting: str, needle: str) -> None:
    (tmp_path / "smstate.yaml").write_text(
        "provider: {type: aws}\n"
        f'backend: {{type: s3, bucket: team-state, key: k.json, endpoint_url: "{aws.url}", {setting}}}\n'
    )

    for args in (["plan"], ["state", "pull"], ["workspace", "list"]):
        assert_clean_failure(run_cli(args, tmp_path, aws.env), needle)


@pytest.mark.parametrize(
    ("variable", "url", "needle"),
    [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:abc", "sagemaker at http://127.0.0.1:abc"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999", "sagemaker at http://127.0.0.1:99999"),
        ("AWS_ENDPOINT_URL", "not a url", "Invalid endpoint: not a url"),
    ],
    ids=["bad-port", "port-out-of-range", "not-a-url"],
)
def test_a_bad_endpoint_from_the_environment_is_one_error(tmp_path: Path, variable: str, url: str, needle: str) -> None:
    """botocore takes `http://host:abc` from the environment and fails on it only when signing: check it first."""
    (tmp_path / "smstate.yaml").write_text(
        "provider: {type: aws, region: us-east-1}\n"
        "model_package_groups:\n  g: {model_package_group_description: x}\n"
    )
    result = run_cli(["plan"], tmp_path, cli_env(None, {variable: url}))
    assert_clean_failure(result, needle)
    assert not state_path(tmp_path).exists()

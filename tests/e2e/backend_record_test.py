"""The backend a directory uses is recorded only once it has worked, and `init --reconfigure` recovers.

A mistyped bucket must not become the directory's backend (every later command would then say
"backend differs"); a backend that cannot be reached is one `Error:` line for `init` too.
"""

from __future__ import annotations

from pathlib import Path

import boto3

from smstate.config import BackendSettings

from .conftest import Aws
from .helpers import assert_clean_failure, run_cli

MODEL = """\
provider: {{type: aws, region: us-east-1, endpoint_url: "{url}", max_attempts: 2}}
{backend}models:
  m:
    execution_role_arn: arn:aws:iam::123456789012:role/record
    primary_container: {{image: "img:1", model_data_url: "s3://bucket/m.tar.gz"}}
"""


def _s3_backend(url: str, bucket: str) -> str:
    return f'backend: {{type: s3, bucket: {bucket}, key: prod.json, endpoint_url: "{url}"}}\n'


def _write(directory: Path, aws: Aws, bucket: str | None) -> None:
    backend = _s3_backend(aws.url, bucket) if bucket else ""
    (directory / "smstate.yaml").write_text(MODEL.format(url=aws.url, backend=backend))


def _s3(aws: Aws) -> object:
    return boto3.client("s3", endpoint_url=aws.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _record(directory: Path) -> Path:
    return directory / ".smstate" / "backend.json"


def test_a_mistyped_bucket_is_not_recorded(tmp_path: Path, aws: Aws) -> None:
    _s3(aws).create_bucket(Bucket="team-state")  # type: ignore[attr-defined]
    _write(tmp_path, aws, "team-staet")

    assert run_cli(["validate"], tmp_path, aws.env).code == 0
    assert not (tmp_path / ".smstate").exists()
    assert_clean_failure(run_cli(["plan"], tmp_path, aws.env), "team-staet", "NoSuchBucket")
    assert not _record(tmp_path).exists()

    _write(tmp_path, aws, "team-state")
    fixed = run_cli(["plan"], tmp_path, aws.env)
    assert fixed.code == 0, str(fixed)
    assert BackendSettings.model_validate_json(_record(tmp_path).read_text()).bucket == "team-state"


def test_migrating_to_a_missing_bucket_is_one_error_and_reconfigure_switches_without_copying(tmp_path: Path, aws: Aws) -> None:
    _write(tmp_path, aws, None)
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env).code == 0
    recorded = _record(tmp_path).read_bytes()
    state = (tmp_path / "state" / "default.json").read_bytes()

    _write(tmp_path, aws, "not-made-yet")
    assert_clean_failure(run_cli(["plan"], tmp_path, aws.env), "init --migrate-state", "init --reconfigure")
    assert_clean_failure(run_cli(["init", "--migrate-state"], tmp_path, aws.env), "not-made-yet", "NoSuchBucket")
    assert_clean_failure(run_cli(["init", "--reconfigure"], tmp_path, aws.env), "not-made-yet", "NoSuchBucket")
    assert _record(tmp_path).read_bytes() == recorded
    assert (tmp_path / "state" / "default.json").read_bytes() == state

    _s3(aws).create_bucket(Bucket="not-made-yet")  # type: ignore[attr-defined]
    switched = run_cli(["init", "-reconfigure"], tmp_path, aws.env)
    assert switched.code == 0, str(switched)
    assert "no state was copied" in switched.out
    assert BackendSettings.model_validate_json(_record(tmp_path).read_text()).bucket == "not-made-yet"
    assert "Contents" not in _s3(aws).list_objects_v2(Bucket="not-made-yet")  # type: ignore[attr-defined]
    # The new backend starts empty; the model the old state made is not this state's to adopt.
    assert_clean_failure(run_cli(["plan"], tmp_path, aws.env), "belongs to another state", "smstate import")


def test_a_recorded_missing_bucket_is_recovered_by_reconfigure(tmp_path: Path, aws: Aws) -> None:
    """A directory recorded with a mistyped bucket (as `validate` used to do) is not stuck."""
    _s3(aws).create_bucket(Bucket="team-state")  # type: ignore[attr-defined]
    _write(tmp_path, aws, "team-state")
    _record(tmp_path).parent.mkdir()
    typo = BackendSettings(type="s3", bucket="team-staet", key="prod.json", endpoint_url=aws.url)
    _record(tmp_path).write_text(typo.model_dump_json())

    assert_clean_failure(run_cli(["plan"], tmp_path, aws.env), "differs", "init --reconfigure")
    assert_clean_failure(run_cli(["init", "--migrate-state"], tmp_path, aws.env), "team-staet", "NoSuchBucket")
    assert run_cli(["init", "--reconfigure"], tmp_path, aws.env).code == 0
    assert run_cli(["plan"], tmp_path, aws.env).code == 0
    assert_clean_failure(run_cli(["init", "--reconfigure", "--migrate-state"], tmp_path, aws.env), "cannot be used together")

"""The S3 backend against a moto server: conditional writes, locking, migration."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest

from smstate.backends.s3 import S3Backend
from smstate.errors import LockError, StateError
from smstate.state import State

from .conftest import Aws
from .helpers import CLI, assert_clean_failure, run_cli
from tests.reliability.proxy import S3Proxy

SIMPLE = """\
provider: {{type: aws}}
backend: {{type: s3, bucket: team-state, key: sagemaker/prod.json, endpoint_url: "{url}"}}
models:
  m{i}:
    primary_container: {{image: "img:1", model_data_url: "s3://b/m.tar.gz"}}
"""


@pytest.fixture
def bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in aws.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=aws.url).create_bucket(Bucket="team-state")
    return "team-state"


def backend(aws: Aws) -> S3Backend:
    return S3Backend("team-state", "sagemaker/prod.json", "us-east-1", aws.url)


def test_a_stale_writer_is_rejected_and_nothing_is_overwritten(aws: Aws, bucket: str) -> None:
    first, second = backend(aws), backend(aws)
    assert first.read() is None
    first.write(State())
    a, b = backend(aws), backend(aws)
    state_a, state_b = a.read(), b.read()
    assert state_a is not None and state_b is not None
    state_a.serial = 5
    a.write(state_a)
    state_b.serial = 9
    with pytest.raises(StateError, match="changed by another writer"):
        b.write(state_b)
    stored = backend(aws).read()
    assert stored is not None and stored.serial == 5
    with pytest.raises(StateError, match="changed by another writer"):
        second.write(State())


def test_the_lock_is_exclusive_and_names_its_holder(aws: Aws, bucket: str) -> None:
    one, two = backend(aws), backend(aws)
    held = one.lock("apply", 0)
    with pytest.raises(LockError) as refused:
        two.lock("plan", 0.3)
    assert held.id in str(refused.value) and "apply" in str(refused.value)
    one.unlock(held)
    two.unlock(two.lock("plan", 0))


def test_cli_applies_with_s3_state_and_two_applies_do_not_collide(tmp_path: Path, aws: Aws, bucket: str) -> None:
    dirs = []
    for i in range(2):
        directory = tmp_path / f"p{i}"
        directory.mkdir()
        (directory / "smstate.yaml").write_text(SIMPLE.format(url=aws.url, i=0))
        dirs.append(directory)
    procs = [
        subprocess.Popen([*CLI, "apply", "--auto-approve", "--lock-timeout", "60s"], cwd=d, env=aws.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for d in dirs
    ]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    state = backend(aws).read()
    assert state is not None and list(state.resources) == ["models.m0"]
    assert aws.model_names() == [state.resources["models.m0"].physical_name]
    pulled = run_cli(["state", "pull"], dirs[0], aws.env)
    assert json.loads(pulled.out)["lineage"] == state.lineage
    assert not backend(aws)._lock_exists()


def test_a_held_lock_refuses_apply_with_the_holder(tmp_path: Path, aws: Aws, bucket: str) -> None:
    (tmp_path / "smstate.yaml").write_text(SIMPLE.format(url=aws.url, i=0))
    held = backend(aws).lock("apply", 0)
    result = run_cli(["apply", "--auto-approve"], tmp_path, aws.env)
    assert_clean_failure(result, "locked", held.id)
    assert aws.model_names() == []
    assert run_cli(["force-unlock", held.id], tmp_path, aws.env).code == 0
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env).code == 0


def test_migration_local_to_s3_and_back_keeps_serial_and_lineage(tmp_path: Path, aws: Aws, bucket: str) -> None:
    config = tmp_path / "smstate.yaml"
    local_text = SIMPLE.format(url=aws.url, i=0).replace(
        "backend: {type: s3, bucket: team-state, key: sagemaker/prod.json, endpoint_url: \"" + aws.url + "\"}\n", ""
    )
    config.write_text(local_text)
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env).code == 0
    local = json.loads((tmp_path / "state" / "default.json").read_text())
    config.write_text(SIMPLE.format(url=aws.url, i=0))
    refused = run_cli(["plan"], tmp_path, aws.env)
    assert_clean_failure(refused, "init --migrate-state")
    migrated = run_cli(["init", "--migrate-state"], tmp_path, aws.env)
    assert migrated.code == 0, str(migrated)
    remote = backend(aws).read()
    assert remote is not None and (remote.lineage, remote.serial) == (local["lineage"], local["serial"])
    clean = run_cli(["plan", "--detailed-exitcode"], tmp_path, aws.env)
    assert clean.code == 0, str(clean)
    config.write_text(local_text)
    back = run_cli(["init", "--migrate-state"], tmp_path, aws.env)
    assert back.code == 0, str(back)
    assert run_cli(["plan", "--detailed-exitcode"], tmp_path, aws.env).code == 0


def test_the_state_key_is_an_object_of_its_own_and_migrates_with_the_state(tmp_path: Path, aws: Aws, bucket: str) -> None:
    secret = "s3-tok-6b1f0e93-never-stored"
    config = tmp_path / "smstate.yaml"
    remote_text = SIMPLE.format(url=aws.url, i=0).replace(
        '"s3://b/m.tar.gz"}', '"s3://b/m.tar.gz", environment: {TOKEN: "${var.token}"}}'
    ) + "variables:\n  token: {sensitive: true}\n"
    local_text = remote_text.replace("backend: {type: s3, bucket: team-state, key: sagemaker/prod.json, endpoint_url: \"" + aws.url + "\"}\n", "")
    env = {**aws.env, "SMSTATE_VAR_token": secret}
    config.write_text(local_text)
    assert run_cli(["apply", "--auto-approve"], tmp_path, env).code == 0
    local_key = (tmp_path / "state" / "default.json.key").read_bytes()

    config.write_text(remote_text)
    migrated = run_cli(["init", "--migrate-state"], tmp_path, env)
    assert migrated.code == 0, str(migrated)
    clean = run_cli(["plan", "--detailed-exitcode"], tmp_path, env)
    assert clean.code == 0, str(clean)  # the key came along: the hashes still match
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws.url)
    assert s3.get_object(Bucket=bucket, Key="sagemaker/prod.json.hmac-key")["Body"].read() == local_key
    stored = s3.get_object(Bucket=bucket, Key="sagemaker/prod.json")["Body"].read()
    assert secret.encode() not in stored and local_key.strip() not in stored and b'"key_id"' in stored


def test_a_statefile_that_is_not_utf8_is_refused_and_left_untouched(tmp_path: Path, aws: Aws, bucket: str) -> None:
    (tmp_path / "smstate.yaml").write_text(SIMPLE.format(url=aws.url, i=0))
    garbage = b'{"format_version": 1, "lineage": "\xff\xfe", "serial": 1, "resources": {}}'
    s3 = boto3.client("s3", endpoint_url=aws.url)
    s3.put_object(Bucket=bucket, Key="sagemaker/prod.json", Body=garbage)

    for args in (["plan"], ["apply", "--auto-approve"], ["state", "pull"]):
        assert_clean_failure(run_cli(args, tmp_path, aws.env), "s3://team-state/sagemaker/prod.json", "not UTF-8")

    assert s3.get_object(Bucket=bucket, Key="sagemaker/prod.json")["Body"].read() == garbage
    assert aws.model_names() == []
    assert not backend(aws)._lock_exists()


def _lock_body(lock_id: str) -> bytes:
    return json.dumps({"id": lock_id, "operation": "apply", "pid": 1, "host": "elsewhere", "user": "them",
                       "time": "2026-01-01T00:00:00Z"}).encode()


def test_a_store_that_ignores_if_none_match_does_not_let_a_second_command_take_the_lock(
    tmp_path: Path, aws: Aws, bucket: str
) -> None:
    with S3Proxy(aws.url) as store:
        held = S3Backend("team-state", "sagemaker/prod.json", "us-east-1", store.url).lock("apply", 0)
        (tmp_path / "smstate.yaml").write_text(SIMPLE.format(url=store.url, i=0))

        result = run_cli(["plan"], tmp_path, aws.env)

        assert_clean_failure(result, "locked", held.id)
        holder = backend(aws)._holder()
        assert holder is not None and holder.id == held.id  # still the first command's, not deleted


def test_a_lock_lost_in_a_race_is_not_taken_nor_released(aws: Aws, bucket: str) -> None:
    """The store ignores If-None-Match and another writer's PUT lands right after ours: read back, it is theirs."""
    s3 = boto3.client("s3", endpoint_url=aws.url)
    with S3Proxy(aws.url) as store:
        store.after_put = lambda path: (
            s3.put_object(Bucket=bucket, Key="sagemaker/prod.json.lock", Body=_lock_body("theirs"))
            if path.endswith("/prod.json.lock") else None
        )
        ours = S3Backend("team-state", "sagemaker/prod.json", "us-east-1", store.url)

        with pytest.raises(LockError, match="locked by another command .*ID theirs"):
            ours.lock("plan", 0)

    holder = backend(aws)._holder()
    assert holder is not None and holder.id == "theirs"


def test_a_lock_taken_over_is_not_deleted_on_release(aws: Aws, bucket: str) -> None:
    ours = backend(aws)
    info = ours.lock("apply", 0)
    s3 = boto3.client("s3", endpoint_url=aws.url)
    s3.put_object(Bucket=bucket, Key="sagemaker/prod.json.lock", Body=_lock_body("theirs"))  # as a store ignoring If-None-Match lets happen

    ours.unlock(info)

    holder = backend(aws)._holder()
    assert holder is not None and holder.id == "theirs"

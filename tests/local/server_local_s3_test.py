"""Which S3 the local server uses: `smstate local start --local-s3`, and
`provider.s3_endpoint_url` (an S3 of the user's, or `local`)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from tests.e2e.helpers import assert_clean_failure, cli_env, run_cli
from tests.local.s3_harness import answers, moto_s3
from tests.local.server_harness import free_port


def project(tmp_path: Path, extra: str = "") -> tuple[Path, dict[str, str]]:
    url = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "smstate.yaml").write_text(f'provider:\n  type: local\n  url: "{url}"\n{extra}')
    return tmp_path, cli_env(None, {"SMSTATE_LOCAL_HOME": str(tmp_path / "home")})


def test_local_start_with_a_local_s3(tmp_path: Path) -> None:
    work, env = project(tmp_path)
    try:
        started = run_cli(["local", "start", "--local-s3"], work, env, timeout=90)
        assert started.code == 0, str(started)
        s3_url = json.loads(run_cli(["local", "status", "--json"], work, env).out)["s3"]
        assert f"s3:// goes to {s3_url}" in started.out
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        s3.create_bucket(Bucket="scratch")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["scratch"]
    finally:
        assert run_cli(["local", "stop"], work, env).code == 0
    assert not answers(s3_url + "/")


def test_configured_s3_endpoint_is_used_and_must_match_a_running_server(tmp_path: Path) -> None:
    with moto_s3(tmp_path / "moto.log") as s3_url:
        work, env = project(tmp_path, f'  s3_endpoint_url: "{s3_url}"\n')
        try:
            assert run_cli(["local", "start"], work, env, timeout=90).code == 0
            assert json.loads(run_cli(["local", "status", "--json"], work, env).out)["s3"] == s3_url
            other = tmp_path / "other"
            other.mkdir()
            config = (work / "smstate.yaml").read_text().replace(s3_url, "http://127.0.0.1:9")
            (other / "smstate.yaml").write_text(config)
            refused = run_cli(["plan"], other, env)
            assert_clean_failure(refused, f"uses S3 at {s3_url}, not http://127.0.0.1:9")
        finally:
            run_cli(["local", "stop"], work, env)

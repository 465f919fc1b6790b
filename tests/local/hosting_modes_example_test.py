"""`examples/hosting-modes/async` and `serverless`, applied with the smstate CLI as a
user runs them (on a free port, with a private home), then used through boto3."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from tests.e2e.helpers import cli_env, run_cli
from tests.local.s3_harness import answers
from tests.local.server_harness import REPO, clients, free_port

BODY = b'{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'
PREDICTIONS = {"predictions": ["setosa", "virginica"]}


def copy_example(name: str, tmp_path: Path, quickstart_model: Path) -> tuple[Path, str, dict[str, str]]:
    """The example in `tmp_path`, its model built, pointed at a free port; its dir, URL and environment."""
    work = tmp_path / name
    shutil.copytree(REPO / "examples" / "hosting-modes" / name, work, ignore=shutil.ignore_patterns("build", "state"))
    (work / "build").mkdir()
    shutil.copy(quickstart_model / "model.tar.gz", work / "build" / "model.tar.gz")
    url = f"http://127.0.0.1:{free_port()}"
    config = work / "smstate.yaml"
    config.write_text(config.read_text().replace("  type: local\n", f'  type: local\n  url: "{url}"\n', 1))
    env = cli_env(None, {"SMSTATE_LOCAL_HOME": str(tmp_path / "home"), "SMSTATE_LOCAL_TIME_SCALE": "0.01"})
    return work, url, env


def test_async_example_round_trip_through_its_local_s3(tmp_path: Path, quickstart_model: Path) -> None:
    work, url, env = copy_example("async", tmp_path, quickstart_model)
    try:
        applied = run_cli(["apply", "--auto-approve"], work, env, timeout=180)
        assert applied.code == 0, str(applied)
        status = run_cli(["local", "status", "--json"], work, env)
        s3_url = json.loads(status.out)["s3"]
        assert s3_url.startswith("http://127.0.0.1:")

        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        s3.create_bucket(Bucket="smstate-async")
        s3.put_object(Bucket="smstate-async", Key="input/one.json", Body=BODY)
        answer = clients(url)[1].invoke_endpoint_async(
            EndpointName="iris", InputLocation="s3://smstate-async/input/one.json", ContentType="application/json"
        )
        assert answer["OutputLocation"].startswith("s3://smstate-async/output/")
        key = answer["OutputLocation"].removeprefix("s3://smstate-async/")
        deadline = time.monotonic() + 30
        while True:
            try:
                output = s3.get_object(Bucket="smstate-async", Key=key)["Body"].read()
                break
            except ClientError:
                assert time.monotonic() < deadline, "no answer in S3"
                time.sleep(0.1)
        assert json.loads(output) == PREDICTIONS

        assert run_cli(["destroy", "--auto-approve"], work, env, timeout=120).code == 0
    finally:
        run_cli(["local", "stop"], work, env)
    assert not answers(s3_url + "/")  # the local S3 stopped with the server


def test_serverless_example_is_served(tmp_path: Path, quickstart_model: Path) -> None:
    work, url, env = copy_example("serverless", tmp_path, quickstart_model)
    try:
        applied = run_cli(["apply", "--auto-approve"], work, env, timeout=180)
        assert applied.code == 0, str(applied)
        invoked = run_cli(["invoke", "iris", "--content-type", "application/json", "--body", BODY.decode()], work, env)
        assert invoked.code == 0 and json.loads(invoked.out) == PREDICTIONS, str(invoked)
        variant = clients(url)[0].describe_endpoint(EndpointName="iris")["ProductionVariants"][0]
        assert variant["CurrentServerlessConfig"] == {
            "MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 1
        }
        assert run_cli(["destroy", "--auto-approve"], work, env, timeout=120).code == 0
    finally:
        run_cli(["local", "stop"], work, env)

"""The two targets the drift, import and drift-property tests run on, behind one face.

`moto`: the session's moto server, emptied for each test. `local`: a fresh embedded local
SageMaker per test (it starts in a fraction of a second), so that listing the account —
orphans for drift, everything for `--generate-config` — sees only what the test made.
Tests change the account by hand through `Target.sm`, a plain boto3 client, as a user
with the console or the AWS CLI would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import ServerProcess, clients, model_tar, wait_settled

from .conftest import Aws
from .helpers import Result, cli_env, read_state, run_cli

ROLE = "arn:aws:iam::123456789012:role/smstate-e2e"
LINEAGE_TAG = "smstate:lineage"
ADDRESS_TAG = "smstate:address"
TARGETS = ("moto", "local")


@dataclass
class Target:
    """Where the CLI points, the boto3 client to change it by hand, and where model archives go."""

    name: str
    url: str
    sm: Any
    env: dict[str, str]
    artifacts: Path

    @property
    def local(self) -> bool:
        return self.name == "local"

    @property
    def image(self) -> str:
        return "local/echo" if self.local else "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

    def provider_block(self) -> str:
        if self.local:
            return f'provider: {{type: local, url: "{self.url}"}}\n'
        # moto fails some calls with HTTP 500 (ListTags on a model package): do not retry them 8 times
        return "provider: {type: aws, region: us-east-1, max_attempts: 2}\n"

    def artifact(self, label: str) -> str:
        """A model_data_url both the API and a config accept: a real archive locally (it is served)."""
        if self.local:
            return "file://" + str(model_tar(self.artifacts, label))
        return f"s3://smstate-e2e/{label}.tar.gz"

    def settle(self, endpoint: str) -> dict[str, Any]:
        """DescribeEndpoint once a hand-made change has finished (moto answers at once)."""
        if self.local:
            return wait_settled(self.sm, endpoint)
        return dict(self.sm.describe_endpoint(EndpointName=endpoint))

    def wait_gone(self, endpoint: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.sm.describe_endpoint(EndpointName=endpoint)
            except ClientError:
                return
            time.sleep(0.05)
        raise AssertionError(f"endpoint {endpoint} still exists after {timeout}s")

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.sm.list_tags(ResourceArn=arn)["Tags"]}

    def hand_model(self, name: str, label: str = "hand", tags: dict[str, str] | None = None) -> str:
        """CreateModel as a user would type it; returns the ARN."""
        container = {"Image": self.image, "ModelDataUrl": self.artifact(label), "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}
        params: dict[str, Any] = {"ModelName": name, "ExecutionRoleArn": ROLE, "PrimaryContainer": container}
        if tags:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return str(self.sm.create_model(**params)["ModelArn"])

    def hand_config(self, name: str, model: str, count: int = 1) -> None:
        self.sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{
                "VariantName": "primary", "ModelName": model, "InstanceType": "ml.m5.large",
                "InitialInstanceCount": count, "InitialVariantWeight": 1.0,
            }],
        )


@contextmanager
def open_target(name: str, moto_url: str, scratch: Path) -> Iterator[Target]:
    """An empty account: the moto server reset, or a local SageMaker of its own under `scratch`."""
    artifacts = scratch / "artifacts"
    if name == "moto":
        account = Aws(moto_url, cli_env(moto_url))
        account.reset()  # through Aws, so fixtures that share an applied account know it was emptied
        yield Target("moto", moto_url, account.sagemaker, account.env, artifacts)
        return
    server = ServerProcess(scratch / "local-home").start()
    try:
        sm, _ = clients(server.url)
        yield Target("local", server.url, sm, cli_env(None), artifacts)
    finally:
        server.close()


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, moto_url: str, tmp_path: Path) -> Iterator[Target]:
    """An empty account on the moto server, or on a local SageMaker of its own."""
    with open_target(request.param, moto_url, tmp_path) as opened:
        yield opened


@dataclass
class Workdir:
    """A config directory the CLI runs in, against one target."""

    dir: Path
    target: Target

    @classmethod
    def make(cls, path: Path, target: Target, config: str, name: str = "smstate.yaml") -> Workdir:
        path.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(config)
        return cls(path, target)

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        return run_cli(args, self.dir, {**self.target.env, **(env or {})}, timeout=timeout)

    def apply(self, *args: str) -> Result:
        result = self.run("apply", "--auto-approve", *args)
        assert result.code == 0, str(result)
        return result

    def drift_json(self, *args: str, code: int = 2) -> dict[str, Any]:
        result = self.run("drift", "--format", "json", *args)
        assert result.code == code, str(result)
        doc: dict[str, Any] = json.loads(result.out)
        return doc

    def state(self) -> dict[str, Any]:
        return read_state(self.dir)

    @property
    def lineage(self) -> str:
        return str(self.state()["lineage"])

    def resource(self, address: str) -> dict[str, Any]:
        found: dict[str, Any] = self.state()["resources"][address]
        return found

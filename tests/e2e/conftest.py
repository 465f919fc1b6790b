"""A moto server for the whole session, emptied before every test that asks for `aws`, and a copy of
an example per test. Tests that only read share one applied copy of `examples/aws-basic`."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from .helpers import REPO, Result, cli_env, read_state, run_cli

ROLE = "arn:aws:iam::123456789012:role/smstate-e2e"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=10) as response:
        response.read()


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`moto_server` on a free loopback port, as a subprocess of its own."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _post(f"{url}/moto-api/reset")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Aws:
    """The moto account, seen through boto3 as a user would inspect it."""

    url: str
    env: dict[str, str]
    sagemaker: Any = field(init=False)
    ec2: Any = field(init=False)

    def __post_init__(self) -> None:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        self.sagemaker = session.client("sagemaker", endpoint_url=self.url)
        self.ec2 = session.client("ec2", endpoint_url=self.url)

    resets = 0
    """How many times the account was emptied this session (class-wide), so shared fixtures know when to rebuild."""

    def reset(self) -> None:
        _post(f"{self.url}/moto-api/reset")
        Aws.resets += 1

    def network(self) -> tuple[str, str]:
        """A VPC with one subnet and one security group: (subnet id, security group id)."""
        vpc = self.ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
        group = self.ec2.create_security_group(GroupName="smstate-e2e", Description="e2e", VpcId=vpc)["GroupId"]
        return subnet, group

    def model_names(self) -> list[str]:
        return sorted(m["ModelName"] for m in self.sagemaker.list_models()["Models"])

    def endpoint_config_names(self) -> list[str]:
        return sorted(c["EndpointConfigName"] for c in self.sagemaker.list_endpoint_configs()["EndpointConfigs"])

    def endpoint_names(self) -> list[str]:
        return sorted(e["EndpointName"] for e in self.sagemaker.list_endpoints()["Endpoints"])

    def group_names(self) -> list[str]:
        summaries = self.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        return sorted(g["ModelPackageGroupName"] for g in summaries)


@pytest.fixture(scope="session")
def account(moto_url: str) -> Aws:
    """The moto account as it is (not emptied): for tests that use `shared_applied`. Its clients live all session."""
    return Aws(moto_url, cli_env(moto_url))


@pytest.fixture
def aws(account: Aws) -> Aws:
    """A fresh, empty moto account for this test."""
    account.reset()
    return account


@dataclass
class Project:
    """A config directory in tmp, with the variables it needs, and the CLI pointed at it."""

    dir: Path
    var_file: Path
    env: dict[str, str]
    subnet: str = ""
    security_group: str = ""
    first_apply: Result | None = None
    """The output of the apply that built a shared project."""

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return run_cli(args, self.dir, {**self.env, **(env or {})}, input=input)

    def plan(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.run("plan", "--var-file", str(self.var_file), *args, env=env)

    def apply(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.run("apply", "--auto-approve", "--var-file", str(self.var_file), *args, env=env)

    def destroy(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.run("destroy", "--auto-approve", "--var-file", str(self.var_file), *args, env=env)

    @property
    def config(self) -> Path:
        return self.dir / "smstate.yaml"

    def edit(self, old: str, new: str) -> None:
        """Change the config text; `old` must occur exactly once."""
        text = self.config.read_text()
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {self.config}"
        self.config.write_text(text.replace(old, new))

    def state(self, workspace: str = "default") -> dict[str, Any]:
        return read_state(self.dir, workspace)


def make_project(tmp_path: Path, aws: Aws, example: str = "aws-basic") -> Project:
    """Copy `examples/<example>` to tmp (so state/ lands there) with a var file for a new VPC."""
    directory = tmp_path / example
    shutil.copytree(REPO / "examples" / example, directory, ignore=shutil.ignore_patterns("state", ".smstate"))
    subnet, group = aws.network()
    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps({"role": ROLE, "subnets": [subnet], "security_group": group}))
    return Project(directory, var_file, aws.env, subnet, group)


@pytest.fixture
def project(tmp_path: Path, aws: Aws) -> Project:
    """`examples/aws-basic`, not applied yet."""
    return make_project(tmp_path, aws)


@pytest.fixture
def applied(project: Project) -> Project:
    """`examples/aws-basic`, applied."""
    result = project.apply()
    assert result.code == 0, str(result)
    return project


@pytest.fixture(scope="session")
def _shared_slot() -> dict[str, Any]:
    return {}


@pytest.fixture
def shared_applied(
    account: Aws, _shared_slot: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    """`examples/aws-basic` applied once, for tests that change neither its state, its config nor the account.

    Rebuilt when another test emptied the account since, or when a test changed the statefile anyway;
    the tests that use it run first (below), so it is applied once per session.
    """
    if _shared_slot.get("resets") != Aws.resets:
        account.reset()
        project = make_project(tmp_path_factory.mktemp("shared"), account)
        project.first_apply = project.apply()
        assert project.first_apply.code == 0, str(project.first_apply)
        _shared_slot.update(project=project, resets=Aws.resets)
    project = _shared_slot["project"]
    files = (project.config, project.dir / "state" / "default.json")
    before = [f.read_bytes() for f in files]
    yield project
    if [f.read_bytes() if f.exists() else None for f in files] != before:
        _shared_slot.clear()


@pytest.fixture
def shared_copy(shared_applied: Project, tmp_path: Path) -> Project:
    """A copy of the shared applied directory (config, state): for tests that change local files, not the account."""
    directory = tmp_path / shared_applied.dir.name
    shutil.copytree(shared_applied.dir, directory)
    return Project(directory, shared_applied.var_file, shared_applied.env, shared_applied.subnet, shared_applied.security_group)


def _uses_shared(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "shared_applied" in names or "shared_copy" in names


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Among the e2e tests, run those on `shared_applied` first, so that one apply serves them all."""
    here = Path(__file__).parent
    slots = [n for n, item in enumerate(items) if here in Path(str(item.path)).parents]
    mine = [items[n] for n in slots]
    ordered = sorted(mine, key=lambda item: not _uses_shared(item))
    for n, item in zip(slots, ordered):
        items[n] = item

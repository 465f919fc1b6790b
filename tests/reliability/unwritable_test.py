"""Every command with its output file's directory, its state directory or its config directory read-only.

The CLI runs in a mount namespace of its own (`unshare -m`) where the directory is bind-mounted
read-only, so writes fail with EROFS even for root, as on a read-only volume in CI. A command that
does not need to write works as usual; one that does fails with exactly one `Error:` line naming
the path, exit 1, no traceback, and the statefile byte-for-byte as it was.
"""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import CLI, Result, cli_env, run_cli

CONFIG = """\
provider: {{type: aws, region: us-east-1, endpoint_url: "{url}", max_attempts: 2}}
models:
  m:
    execution_role_arn: arn:aws:iam::123456789012:role/sweep
    primary_container: {{image: "img:1", model_data_url: "s3://bucket/m.tar.gz"}}
endpoint_configs:
  m:
    production_variants: [{{variant_name: primary, model_name: "${{models.m.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}]
"""
LOCK_ID = "0a1b2c3d-sweep-lock"
UNMANAGED = "sweep-unmanaged"


def _mounts_work() -> bool:
    probe = "mount --bind -o ro /tmp /tmp && ! touch /tmp/.smstate-ro-probe 2>/dev/null"
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", probe], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _mounts_work(), reason="needs root and mount namespaces (unshare -m) for read-only mounts")


@dataclass
class Sweep:
    root: Path
    env: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return self.root / "project"

    @property
    def state_dir(self) -> Path:
        return self.config_dir / "state"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def state_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.state_dir.iterdir()) if p.is_file()}

    def run(self, args: list[str], read_only: list[Path], writable: list[Path], env: dict[str, str]) -> Result:
        """The CLI with `read_only` mounted read-only (and `writable`, beneath them, left writable)."""
        script = [f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))}" for p in writable]
        for path in read_only:
            quoted = shlex.quote(str(path))
            script += [f"mount --rbind {quoted} {quoted}", f"mount -o remount,bind,ro {quoted}"]
        script.append('exec "$@"')
        command = ["unshare", "-m", "sh", "-ec", " && ".join(script), "sh", *CLI, *args]
        proc = subprocess.run(command, cwd=self.config_dir, env={**self.env, **env}, input="", capture_output=True,
                              text=True, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def template(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Applied, with a second workspace `dev`, and one model in the account that no state manages."""
    root = tmp_path_factory.mktemp("sweep-template")
    project = root / "project"
    project.mkdir()
    (project / "smstate.yaml").write_text(CONFIG.format(url=moto_url))
    env = cli_env(moto_url)
    for args in (["apply", "--auto-approve"], ["workspace", "new", "dev"], ["workspace", "select", "default"]):
        result = run_cli(args, project, env)
        assert result.code == 0, str(result)
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        sagemaker.describe_model(ModelName=UNMANAGED)
    except ClientError:
        sagemaker.create_model(ModelName=UNMANAGED, ExecutionRoleArn="arn:aws:iam::123456789012:role/sweep",
                               PrimaryContainer={"Image": "img:1", "ModelDataUrl": "s3://bucket/u.tar.gz"})
    shutil.copy(project / "state" / "default.json", root / "push.json")
    shutil.rmtree(project / ".smstate")  # as in a fresh checkout: no workspace selected, no backend recorded yet
    return root


@pytest.fixture
def sweep(template: Path, moto_url: str, tmp_path: Path) -> Iterator[Sweep]:
    root = tmp_path / "sweep"
    shutil.copytree(template, root)
    (root / "out").mkdir()
    (root / "home").mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = cli_env(moto_url, {"SMSTATE_LOCAL_HOME": str(root / "home"), "SWEEP_PORT": str(port)})
    yield Sweep(root, env)


def _command(name: str, sweep: Sweep) -> tuple[list[str], dict[str, str]]:
    out, port = sweep.out_dir, sweep.env["SWEEP_PORT"]
    table: dict[str, list[str]] = {
        "validate": ["validate"],
        "plan": ["plan"],
        "plan --out": ["plan", "--out", str(out / "saved.plan")],
        "apply": ["apply", "--auto-approve"],
        "destroy": ["destroy", "--auto-approve"],
        "drift": ["drift"],
        "drift --format github": ["drift", "--format", "github"],
        "output": ["output"],
        "state list": ["state", "list"],
        "state show": ["state", "show", "models.m"],
        "state pull": ["state", "pull"],
        "state push": ["state", "push", str(sweep.root / "push.json")],
        "state rm": ["state", "rm", "endpoint_configs.m"],
        "workspace new": ["workspace", "new", "dev2"],
        "workspace select": ["workspace", "select", "dev"],
        "workspace list": ["workspace", "list"],
        "workspace delete": ["workspace", "delete", "dev"],
        "init": ["init"],
        "graph": ["graph"],
        "import": ["import", "models.adopted", UNMANAGED],
        "import --generate-config": ["import", "--generate-config", str(out / "gen.smstate.yaml"),
                                     "--name-prefix", UNMANAGED, "--type", "models"],
        "force-unlock": ["force-unlock", LOCK_ID],
        "local status": ["local", "status", "--url", f"http://127.0.0.1:{port}"],
    }
    env = {"GITHUB_STEP_SUMMARY": str(out / "summary.md")} if name == "drift --format github" else {}
    return table[name], env


OK = "ok"
# mode -> command -> expected: OK (exit 0; `local status` exits 3, "not running") or a text the Error line holds.
EXPECTED: dict[str, dict[str, str]] = {
    "output dir": {
        "plan --out": "saved.plan",
        "drift --format github": "summary.md",
        "import --generate-config": "gen.smstate.yaml",
    },
    "state dir": {
        "validate": OK, "plan": "default.json.lock", "plan --out": "default.json.lock", "apply": "default.json.lock",
        "destroy": "default.json.lock", "drift": OK, "drift --format github": OK, "output": OK, "state list": OK,
        "state show": OK, "state pull": OK, "state push": "default.json.lock", "state rm": "default.json.lock",
        "workspace new": "dev2", "workspace select": OK, "import": "default.json.lock",
        "import --generate-config": "default.json.lock", "force-unlock": "default.json.lock", "local status": OK,
        "workspace list": OK, "workspace delete": "dev.json", "init": OK, "graph": OK,
    },
    "checkout": {  # config and state directory both read-only, as in the report
        "validate": OK, "plan": "default.json.lock", "drift": OK, "local status": OK, "apply": "default.json.lock",
    },
    "config dir": {
        "validate": OK, "plan": OK, "plan --out": OK, "apply": OK, "drift": OK, "drift --format github": OK,
        "output": OK, "state list": OK, "state show": OK, "state pull": OK, "state push": OK, "state rm": OK,
        "workspace new": ".smstate/workspace", "workspace select": ".smstate/workspace", "import": OK,
        "import --generate-config": OK, "force-unlock": OK, "local status": OK, "workspace list": OK,
        "workspace delete": OK, "init": ".smstate/backend.json", "graph": OK,
        "destroy": OK,  # last: it deletes the template's objects from the account
    },
}
CASES = [(mode, name) for mode, commands in EXPECTED.items() for name in commands]


@pytest.mark.parametrize(("mode", "name"), CASES, ids=[f"{m}-{n}" for m, n in CASES])
def test_a_read_only_directory_gives_one_error_line_or_none(sweep: Sweep, mode: str, name: str) -> None:
    if name == "force-unlock":
        lock = {"id": LOCK_ID, "operation": "apply", "pid": 1, "host": "h", "user": "u", "time": "t"}
        (sweep.state_dir / "default.json.lock").write_text(json.dumps(lock))
    read_only, writable = {
        "output dir": ([sweep.out_dir], []),
        "state dir": ([sweep.state_dir], []),
        "checkout": ([sweep.config_dir], []),
        "config dir": ([sweep.config_dir], [sweep.state_dir]),
    }[mode]
    before = sweep.state_files()
    args, env = _command(name, sweep)
    result = sweep.run(args, read_only, writable, env)

    assert "Traceback" not in result.out + result.err, str(result)
    expected = EXPECTED[mode][name]
    if expected == OK:
        assert result.code == (3 if name == "local status" else 0), str(result)
        assert result.errors == [], str(result)
        if mode != "config dir":
            assert sweep.state_files() == before
        return
    assert result.code == 1, str(result)
    assert len(result.errors) == 1 and expected in result.errors[0], str(result)
    assert "Read-only file system" in result.errors[0] or "not writable" in result.errors[0], str(result)
    assert sweep.state_files() == before


def test_validate_writes_nothing(sweep: Sweep) -> None:
    before = sorted((p.relative_to(sweep.config_dir), p.read_bytes() if p.is_file() else None)
                    for p in sweep.config_dir.rglob("*"))
    result = run_cli(["validate"], sweep.config_dir, sweep.env)
    assert result.code == 0, str(result)
    after = sorted((p.relative_to(sweep.config_dir), p.read_bytes() if p.is_file() else None)
                   for p in sweep.config_dir.rglob("*"))
    assert after == before

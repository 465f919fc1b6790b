"""Broken statefiles, plan files and lock files: one clear error, exit 1, nothing overwritten.

Each case damages one file of a directory applied to a moto server, runs `plan` and
`apply` (in this process, plus a few real processes), and checks that the command fails
with one `Error:` line naming the file, without a traceback, and that every file in the
state directory is byte-for-byte what it was. Files smstate writes are mode 0600.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import Result, cli_env, run_cli

from .harness import Target, Workdir, environ, main_in_process, run_killed
from .proxy import FaultProxy

CONFIG = """\
provider: {{type: aws, region: us-east-1, endpoint_url: "{url}", max_attempts: 2}}
models:
  m:
    execution_role_arn: arn:aws:iam::123456789012:role/broken
    primary_container: {{image: "img:1", model_data_url: "s3://bucket/m.tar.gz"}}
    tags: {{round: "{round}"}}
endpoint_configs:
  m:
    production_variants: [{{variant_name: primary, model_name: "${{models.m.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}]
"""


@pytest.fixture(scope="module")
def template(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Applied twice (so there is a backup too)."""
    directory = tmp_path_factory.mktemp("broken-template")
    for round_ in ("one", "two"):
        (directory / "smstate.yaml").write_text(CONFIG.format(url=moto_url, round=round_))
        result = run_cli(["apply", "--auto-approve"], directory, cli_env(moto_url))
        assert result.code == 0, str(result)
    return directory


class Project:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.dir = directory
        self.env = env
        self.statefile = directory / "state" / "default.json"
        self.lock = self.statefile.with_name("default.json.lock")

    def files(self) -> dict[str, bytes | None]:
        state = self.dir / "state"
        return {p.name: (p.read_bytes() if p.is_file() else None) for p in sorted(state.iterdir())}

    def here(self, *args: str) -> Result:
        with environ(self.env):
            return main_in_process([*args, "-C", str(self.dir)])


@pytest.fixture
def project(template: Path, moto_url: str, tmp_path: Path) -> Project:
    directory = tmp_path / "project"
    shutil.copytree(template, directory)
    return Project(directory, cli_env(moto_url))


def one_error(result: Result, *needles: str) -> str:
    assert result.code == 1, str(result)
    assert "Traceback" not in result.out + result.err, str(result)
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[0] == errors[0], str(result)
    assert all(line.startswith(("Error:", "  ", "Warning:")) for line in lines), str(result)
    for needle in needles:
        assert needle in result.err, f"{needle!r} not in\n{result}"
    return errors[0]


def refused_untouched(project: Project, *needles: str, commands: tuple[tuple[str, ...], ...] | None = None) -> None:
    before = project.files()
    for command in commands or (("plan",), ("apply", "--auto-approve"), ("destroy", "--auto-approve"), ("drift",)):
        one_error(project.here(*command), *needles)
        assert project.files() == before, f"{command} changed the state directory"


# -- statefiles ---------------------------------------------------------------------------

Damage = Callable[[dict[str, Any]], Any]


def _resource(change: Callable[[dict[str, Any]], None]) -> Damage:
    def damage(data: dict[str, Any]) -> Any:
        for obj in data["resources"].values():
            change(obj)
        return data

    return damage


STATE_DAMAGE: dict[str, Damage] = {
    "newer format": lambda d: {**d, "format_version": 2},
    "format as a string": lambda d: {**d, "format_version": "1"},
    "no format": lambda d: {k: v for k, v in d.items() if k != "format_version"},
    "serial as text": lambda d: {**d, "serial": "twelve"},
    "serial null": lambda d: {**d, "serial": None},
    "serial a float": lambda d: {**d, "serial": 1.5},
    "negative serial": lambda d: {**d, "serial": -3},
    "lineage a number": lambda d: {**d, "lineage": 12},
    "lineage empty": lambda d: {**d, "lineage": ""},
    "no lineage": lambda d: {k: v for k, v in d.items() if k != "lineage"},
    "resources a list": lambda d: {**d, "resources": []},
    "resources null": lambda d: {**d, "resources": None},
    "resource a number": lambda d: {**d, "resources": {"models.m": 3}},
    "bad address": lambda d: {**d, "resources": {"not an address": d["resources"]["models.m"]}},
    "unknown type of address": lambda d: {**d, "resources": {"widgets.m": d["resources"]["models.m"]}},
    "type a number": _resource(lambda o: o.update(type=3)),
    "unknown type": _resource(lambda o: o.update(type="widget")),
    "spec a list": _resource(lambda o: o.update(spec=[])),
    "tags a string": _resource(lambda o: o.update(tags="team=risk")),
    "tags of numbers": _resource(lambda o: o.update(tags={"a": 1})),
    "attributes null": _resource(lambda o: o.update(attributes=None)),
    "physical name a number": _resource(lambda o: o.update(physical_name=7)),
    "arn a list": _resource(lambda o: o.update(arn=["x"])),
    "dependencies a string": _resource(lambda o: o.update(dependencies="models.m")),
    "version text": _resource(lambda o: o.update(version="v1")),
    "status a number": _resource(lambda o: o.update(status=5)),
    "unknown status": _resource(lambda o: o.update(status="exploded")),
    "deposed a string": _resource(lambda o: o.update(deposed="x")),
    "deposed of numbers": _resource(lambda o: o.update(deposed=[1, 2])),
    "outputs a list": lambda d: {**d, "outputs": [1]},
    "a list": lambda d: [d],
    "null": lambda d: None,
    "a string": lambda d: "state",
}


@pytest.mark.parametrize("name", sorted(STATE_DAMAGE))
def test_damaged_statefile_is_refused_and_kept(project: Project, name: str) -> None:
    data = json.loads(project.statefile.read_text())
    project.statefile.write_text(json.dumps(STATE_DAMAGE[name](data), indent=2))
    refused_untouched(project, str(project.statefile))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(cut=st.floats(0, 0.999))
def test_truncated_statefile_is_refused_and_kept(template: Path, moto_url: str, tmp_path_factory: pytest.TempPathFactory, cut: float) -> None:
    directory = tmp_path_factory.mktemp("truncated") / "p"
    shutil.copytree(template, directory)
    project = Project(directory, cli_env(moto_url))
    data = project.statefile.read_bytes()
    project.statefile.write_bytes(data[: int(len(data) * cut)])
    refused_untouched(project, str(project.statefile), commands=(("plan",), ("apply", "--auto-approve")))


def test_statefile_of_junk_bytes_or_a_directory(project: Project) -> None:
    project.statefile.write_bytes(b"\xff\xfe\x00junk")
    refused_untouched(project, str(project.statefile))
    project.statefile.unlink()
    project.statefile.mkdir()
    refused_untouched(project, str(project.statefile), commands=(("plan",), ("apply", "--auto-approve")))


def test_damaged_statefile_through_real_processes(project: Project) -> None:
    project.statefile.write_text(project.statefile.read_text()[:-40])
    before = project.files()
    for command in (["plan"], ["apply", "--auto-approve"], ["state", "list"], ["drift"]):
        one_error(run_cli(command, project.dir, project.env), str(project.statefile), "left untouched")
    assert project.files() == before


# -- plan files ---------------------------------------------------------------------------


def test_plan_file_from_another_lineage_is_refused(project: Project, template: Path, tmp_path: Path) -> None:
    plan = tmp_path / "other.plan"
    other = tmp_path / "other"
    shutil.copytree(template, other, ignore=shutil.ignore_patterns("state"))
    # objects of its own (another image, so other names): a plan of names the first state holds is refused
    (other / "smstate.yaml").write_text((other / "smstate.yaml").read_text().replace('image: "img:1"', 'image: "img:3"'))
    saved = run_cli(["plan", "--out", str(plan)], other, project.env)
    assert saved.code == 0, str(saved)
    assert stat.S_IMODE(plan.stat().st_mode) == 0o600
    before = project.files()
    error = one_error(run_cli(["apply", str(plan)], project.dir, project.env), "lineage", "run `smstate plan` again")
    assert json.loads(plan.read_text())["lineage"][:8] in error
    assert project.files() == before


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: b"",
        lambda d: d[: len(d) // 2],
        lambda d: b"\x00\xff" * 10,
        lambda d: json.dumps({**json.loads(d), "kind": "terraform"}).encode(),
        lambda d: json.dumps({**json.loads(d), "format_version": 7}).encode(),
        lambda d: json.dumps({**json.loads(d), "serial": "x"}).encode(),
        lambda d: json.dumps({**json.loads(d), "mode": "explode"}).encode(),
        lambda d: json.dumps({**json.loads(d), "config_files": [["smstate.yaml"]]}).encode(),
        lambda d: json.dumps({**json.loads(d), "config_files": [["smstate.yaml", "models: [\n"]]}).encode(),
        lambda d: json.dumps({**json.loads(d), "var_files": "x"}).encode(),
        lambda d: json.dumps({**json.loads(d), "changes": 5}).encode(),
        lambda d: json.dumps({**json.loads(d), "workspace": "../../etc"}).encode(),
        lambda d: json.dumps([json.loads(d)]).encode(),
    ],
    ids=["empty", "truncated", "binary", "wrong-kind", "future", "serial", "mode", "config-pair", "config-yaml",
         "var-files", "changes", "workspace-escape", "list"],
)  # fmt: skip
def test_damaged_plan_file_is_refused(project: Project, tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    plan = tmp_path / "saved.plan"
    (project.dir / "smstate.yaml").write_text((project.dir / "smstate.yaml").read_text().replace('"two"', '"three"'))
    assert project.here("plan", "--out", str(plan)).code == 0
    plan.write_bytes(damage(plan.read_bytes()))
    before = project.files()
    result = project.here("apply", str(plan))
    one_error(result)
    assert project.files() == before


# -- lock files ---------------------------------------------------------------------------

HOLDER: dict[str, Any] = {"id": "9d1c2b3a-0000-4000-8000-000000000001", "operation": "apply", "pid": 1,
          "host": "build-7", "user": "carol", "time": "2026-01-01T00:00:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b"\xff\x00", b"[]", b"{}", b'{"id": 5}', json.dumps({**HOLDER, "pid": "one"}).encode(),
     json.dumps(HOLDER).encode()],
    ids=["empty", "garbage", "binary", "list", "object", "partial", "wrong-types", "held"],
)  # fmt: skip
def test_lock_file_refuses_every_writer_and_is_kept(project: Project, content: bytes) -> None:
    project.lock.write_bytes(content)
    needle = HOLDER["id"] if content == json.dumps(HOLDER).encode() else "force-unlock"
    refused_untouched(project, "locked", needle, commands=(("plan",), ("apply", "--auto-approve"), ("state", "rm", "models.m")))
    assert project.lock.read_bytes() == content


def test_unreadable_lock_is_cleared_only_by_force_unlock(project: Project) -> None:
    project.lock.write_bytes(b"garbage")
    one_error(project.here("force-unlock", HOLDER["id"]))
    assert project.lock.exists()
    assert project.here("force-unlock", "unreadable").code == 0
    assert not project.lock.exists()
    assert project.here("plan").code == 0


def test_lock_path_taken_by_a_directory(project: Project) -> None:
    project.lock.mkdir()
    refused_untouched(project, "lock", commands=(("plan",), ("apply", "--auto-approve")))
    assert project.lock.is_dir()


# -- file modes ---------------------------------------------------------------------------


def test_statefile_backup_and_a_dead_commands_lock_are_private(moto_target: Target, tmp_path: Path) -> None:
    """Under umask 022: the statefile, its backup, its key and the lock a SIGKILLed apply left are all 0600."""
    old = os.umask(0o022)
    try:
        with FaultProxy(moto_target.api_url) as proxy:
            work = Workdir.create(tmp_path / "modes", moto_target, proxy.url)
            assert work.run("apply", "--auto-approve").code == 0
            work.use("B")
            killed, _ = run_killed(work, proxy, 6, "apply", "--auto-approve")
            assert killed
    finally:
        os.umask(old)
    state = work.dir / "state"
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state.iterdir()}
    names = ("default.json", "default.json.backup", "default.json.lock", "default.json.key")
    assert files == dict.fromkeys(names, 0o600), files

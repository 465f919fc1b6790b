"""Files that are not what smstate needs them to be: one `Error:` line, exit 1, no traceback, state untouched.

Each case starts from a copy of the shared applied `examples/aws-basic`: a statefile and its backup
to compare byte for byte, and a config whose variables come from a var file.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Aws, Project
from .helpers import assert_clean_failure, cli_env, run_cli, state_path

NOT_UTF8 = b'role: "\xff\xfe not text"\n'


@dataclass(frozen=True)
class Case:
    id: str
    prepare: Callable[[Project], None]
    args: Callable[[Project], tuple[str, ...]]
    needles: Callable[[Project], tuple[str, ...]]


def _write(name: str, data: bytes) -> Callable[[Project], None]:
    def write(p: Project) -> None:
        (p.dir / name).write_bytes(data)

    return write


def _nothing(p: Project) -> None:
    pass


def _lock_is_a_directory(p: Project) -> None:
    (state_path(p.dir).with_name("default.json.lock") / "inside").mkdir(parents=True)


CASES = [
    Case("var-file-not-utf8", _write("bad.yaml", NOT_UTF8), lambda p: ("plan", "--var-file", "bad.yaml"),
         lambda p: ("--var-file bad.yaml", "not UTF-8")),
    Case("state-push-not-utf8", _write("pushed.json", b'{"lineage": "\xff"}'), lambda p: ("state", "push", "pushed.json"),
         lambda p: ("pushed.json", "not UTF-8")),
    Case("workspace-name-300", _nothing, lambda p: ("workspace", "new", "w" * 300),
         lambda p: ("invalid workspace name", "at most 64 characters")),
    Case("plan-out-missing-dir", _nothing, lambda p: ("plan", "--var-file", str(p.var_file), "--out", "nodir/p.plan"),
         lambda p: ("nodir/p.plan", "no directory")),
    Case("plan-out-onto-dir", lambda p: (p.dir / "adir").mkdir(),
         lambda p: ("plan", "--var-file", str(p.var_file), "--out", "adir"), lambda p: ("adir", "is a directory")),
    Case("generate-config-missing-dir", _nothing,
         lambda p: ("import", "--var-file", str(p.var_file), "--generate-config", "/nodir/x.smstate.yaml"),
         lambda p: ("/nodir/x.smstate.yaml", "no directory /nodir")),
    Case("force-unlock-directory", _lock_is_a_directory, lambda p: ("force-unlock", "unreadable"),
         lambda p: (str(state_path(p.dir).with_name("default.json.lock")), "is a directory")),
    Case("local-start-bad-port", _nothing, lambda p: ("local", "start", "--url", "http://127.0.0.1:abc"),
         lambda p: ("http://127.0.0.1:abc", "port must be a number")),
    Case("local-status-bad-port", _nothing, lambda p: ("local", "status", "--url", "http://127.0.0.1:abc"),
         lambda p: ("http://127.0.0.1:abc", "port must be a number")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_file_smstate_cannot_use_is_one_error_line(case: Case, shared_copy: Project) -> None:
    case.prepare(shared_copy)
    statefile = state_path(shared_copy.dir)
    files = {p.name: p.read_bytes() for p in statefile.parent.iterdir() if p.is_file()}
    listing = sorted(p.name for p in shared_copy.dir.iterdir())

    result = shared_copy.run(*case.args(shared_copy))

    assert_clean_failure(result, *case.needles(shared_copy))
    assert {p.name: p.read_bytes() for p in statefile.parent.iterdir() if p.is_file()} == files
    assert sorted(p.name for p in shared_copy.dir.iterdir()) == listing


def test_a_lock_path_that_is_a_directory_is_left_alone(shared_copy: Project) -> None:
    _lock_is_a_directory(shared_copy)
    assert_clean_failure(shared_copy.run("force-unlock", "unreadable"), "is a directory")
    assert (state_path(shared_copy.dir).with_name("default.json.lock") / "inside").is_dir()


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_model_artifact_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    """Reading /dev/zero, or a FIFO nobody writes to, would never end: validate refuses both."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "model.tar.gz")
        url = "./model.tar.gz"
    else:
        url = "/dev/zero"
    (tmp_path / "smstate.yaml").write_text(
        f'models:\n  m:\n    primary_container: {{image: "img:1", model_data_url: "{url}"}}\n'
    )
    result = run_cli(["validate"], tmp_path, cli_env(None), timeout=30)
    assert_clean_failure(result, "smstate.yaml:3: models.m.primary_container.model_data_url", "not a regular file")


DRIFTING = """\
provider: {{type: aws, region: us-east-1, endpoint_url: "{url}", max_attempts: 2}}
models:
  m:
    execution_role_arn: arn:aws:iam::123456789012:role/summary
    primary_container: {{image: "img:1", model_data_url: "s3://bucket/m.tar.gz"}}
"""


def test_drift_summary_that_cannot_be_written_is_an_error_and_drift_still_exits_2(tmp_path: Path, aws: Aws) -> None:
    (tmp_path / "smstate.yaml").write_text(DRIFTING.format(url=aws.url))
    assert run_cli(["apply", "--auto-approve"], tmp_path, aws.env).code == 0
    summary = tmp_path / "summary-is-a-directory"
    summary.mkdir()
    env = {**aws.env, "GITHUB_STEP_SUMMARY": str(summary)}

    clean = run_cli(["drift", "--format", "github"], tmp_path, env)
    assert_clean_failure(clean, "GITHUB_STEP_SUMMARY", str(summary))

    [model] = aws.model_names()
    aws.sagemaker.delete_model(ModelName=model)
    drifted = run_cli(["drift", "--format", "github"], tmp_path, env)
    assert drifted.code == 2, str(drifted)
    assert "Traceback" not in drifted.err
    assert len(drifted.errors) == 1 and str(summary) in drifted.errors[0], str(drifted)
    assert "models.m" in drifted.out  # the annotations were printed all the same
    shutil.rmtree(summary)
    written = run_cli(["drift", "--format", "github"], tmp_path, env)
    assert written.code == 2 and written.errors == [], str(written)
    assert "models.m" in summary.read_text()


def test_a_local_server_home_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    home = tmp_path / "a-file" / "home"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "smstate.yaml").write_text(
        f'provider: {{type: local, url: "http://127.0.0.1:{port}"}}\n'
        'models:\n  m:\n    primary_container: {image: "img:1", model_data_url: "s3://b/m.tar.gz"}\n'
    )
    env = cli_env(None, {"SMSTATE_LOCAL_HOME": str(home)})
    for args in (["plan"], ["local", "start"]):
        assert_clean_failure(run_cli(args, tmp_path, env), str(home), "Not a directory")
    assert not (tmp_path / "state" / "default.json").exists()

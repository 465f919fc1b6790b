"""Driving the real `smstate` CLI as a subprocess, and reading what a user would look at."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "smstate"]


@dataclass(frozen=True)
class Result:
    """One CLI run: exit code and both streams, as a user's terminal or CI script sees them."""

    code: int
    out: str
    err: str

    def __iter__(self) -> Iterator[Any]:
        """`code, out, err = run_cli(...)`"""
        return iter((self.code, self.out, self.err))

    @property
    def errors(self) -> list[str]:
        """The `Error:` lines on stderr."""
        return error_lines(self.err)

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


def cli_env(endpoint_url: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment: dummy credentials, no user AWS config, no SMSTATE_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMSTATE_", "BOTO_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        NO_COLOR="1",
        COLUMNS="200",
    )
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    input: str | None = None,
    timeout: float = 60,
) -> Result:
    """Run `python -m smstate ARGS` in `cwd`; stdin is closed unless `input` is given."""
    proc = subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=dict(env),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Error:")]


def assert_clean_failure(result: Result, *needles: str, errors: int = 1) -> str:
    """Exit 1, exactly `errors` `Error:` lines (returned joined), each needle in them, no traceback."""
    assert result.code == 1, str(result)
    assert "Traceback" not in result.out + result.err, str(result)
    found = result.errors
    assert len(found) == errors, str(result)
    joined = "\n".join(found)
    for needle in needles:
        assert needle in joined, f"{needle!r} not in the Error lines\n{result}"
    return joined


def state_path(project: Path, workspace: str = "default") -> Path:
    return project / "state" / f"{workspace}.json"


def read_state(project: Path, workspace: str = "default") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state_path(project, workspace).read_text())
    return data


def write_state(project: Path, data: dict[str, Any], workspace: str = "default") -> None:
    state_path(project, workspace).write_text(json.dumps(data, indent=2) + "\n")


def tags_of(sagemaker: Any, arn: str) -> dict[str, str]:
    """Tags as SageMaker lists them (the last value wins for a key listed twice)."""
    tags: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update({t["Key"]: t["Value"] for t in page["Tags"]})
    return tags


def start_cli(args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `python -m smstate ARGS` with pipes, for tests that talk to it or signal it."""
    return subprocess.Popen(
        [*CLI, *args], cwd=cwd, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def read_until(proc: subprocess.Popen[bytes], text: str, timeout: float = 30) -> str:
    """Read the process's stdout until `text` appears (a prompt need not end its line)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            raise AssertionError(f"{text!r} never appeared (exit {proc.poll()}):\n{seen.decode(errors='replace')}")
        seen += chunk
    return seen.decode()

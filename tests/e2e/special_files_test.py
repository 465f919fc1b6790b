"""Every file a user names, and every file smstate reads beside the state, must be a regular file.

A FIFO nobody writes to would block the open forever (and a signal would not end it), and /dev/zero
would be read until memory runs out. Each is one `Error:` line at once, naming the file; nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import assert_clean_failure, cli_env, run_cli

CONFIG = 'provider: {type: aws, region: us-east-1, endpoint_url: "http://127.0.0.1:9", max_attempts: 1}\n'


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _zero(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return str(path)


CASES: dict[str, tuple[str, Callable[[str], list[str]]]] = {
    "var-file": ("vars.yaml", lambda f: ["plan", "--var-file", f]),
    "state-push": ("pushed.json", lambda f: ["state", "push", f]),
    "planfile": ("saved.plan", lambda f: ["apply", f]),
    "invoke-body": ("body.json", lambda f: ["invoke", "ep", "--body", "@" + f]),
    "statefile": ("state/default.json", lambda f: ["plan"]),
    "state-key": ("state/default.json.key", lambda f: ["plan"]),
}


@pytest.mark.parametrize("make", [_fifo, _zero], ids=["fifo", "device"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_file_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, case: str, make: Callable[[Path], str]) -> None:
    (tmp_path / "smstate.yaml").write_text(CONFIG)
    (tmp_path / "state").mkdir()
    name, args = CASES[case]
    path = make(tmp_path / name)
    before = sorted(p.name for p in (tmp_path / "state").iterdir())

    result = run_cli(args(path), tmp_path, cli_env(None), timeout=30)

    assert_clean_failure(result, "not a regular file")
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == before

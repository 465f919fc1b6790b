"""`smstate ... | head`: a reader that leaves early stops the command quietly."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.e2e.helpers import CLI, cli_env


def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status(tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env(None).items() if k != "PYTHONUNBUFFERED"}  # as a shell runs it
    process = subprocess.Popen([*CLI, "schema"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10).startswith(b"{")
    process.stdout.close()  # as `head` does once it has its lines
    err = process.stderr.read()
    assert process.wait(timeout=60) == 128 + signal.SIGPIPE
    assert err == b""

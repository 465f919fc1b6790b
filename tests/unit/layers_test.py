"""The import layers of the package are a contract (`.importlinter`): the CLI calls the commands,
the commands the workflow, the workflow the phases, and nothing below calls back up; the core
never imports a provider."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout

"""Fixtures shared by the local-server tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def quickstart_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart model, trained by ``examples/quickstart/train.py`` as users run it.

    Returns the build directory: ``model.tar.gz`` and its extracted twin ``model/``.
    """
    out = tmp_path_factory.mktemp("quickstart")
    train = REPO / "examples" / "quickstart" / "train.py"
    subprocess.run([sys.executable, str(train), "--out", str(out)], check=True, capture_output=True, timeout=120)
    return out

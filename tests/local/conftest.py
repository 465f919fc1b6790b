"""Fixtures shared by the local-server tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local.server_harness import ServerProcess, clients

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


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One local server for the test module, with a home of its own."""
    process = ServerProcess(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]) / "home").start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    """boto3's SageMaker client of the module's server."""
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def rt(server: ServerProcess) -> Any:
    """boto3's sagemaker-runtime client of the module's server."""
    return clients(server.url)[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the module's model archives (`server_harness.model_tar`)."""
    return tmp_path_factory.mktemp("models")

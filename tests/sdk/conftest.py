"""Fixtures of the SageMaker Python SDK tests.

The SDK lives in a venv of its own, `.venv-sdk` (`make test` builds it), because its
pins would move the suite's own numpy and boto3. Each test runs a short SDK script
from `scripts/` with that venv's Python against a local server (with a moto server as
its S3) and checks what the script observed and what is left in S3 and SageMaker.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import moto_url  # noqa: F401  (the session's moto server, as a fixture)
from tests.local.conftest import quickstart_model  # noqa: F401  (the quickstart model, as a fixture)
from tests.local.modes_harness import s3_env, start_server
from tests.local.server_harness import REPO, ServerProcess, clients, free_port

SDK_PYTHON = REPO / ".venv-sdk" / "bin" / "python"
SCRIPTS = Path(__file__).parent / "scripts"

#: Runs `scripts/<name>` with a bucket and more environment; returns what it observed.
RunSdk = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    if not SDK_PYTHON.is_file():
        pytest.fail(f"the SageMaker SDK venv {SDK_PYTHON.parents[1]} is missing: `make test` builds it", pytrace=False)
    return SDK_PYTHON


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[ServerProcess]:  # noqa: F811
    yield from start_server(tmp_path_factory.mktemp("sdk") / "home", moto_url)


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture
def run_sdk(sdk_python: Path, server: ServerProcess, moto_url: str, tmp_path: Path) -> RunSdk:  # noqa: F811
    def run(script: str, bucket: str, **env: str) -> dict[str, Any]:
        observed = tmp_path / "observed.json"
        unreachable = f"http://127.0.0.1:{free_port()}"
        environment = {
            **s3_env(moto_url),
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),  # no ~/.aws, no ~/.config/sagemaker of the user's
            "AWS_EC2_METADATA_DISABLED": "true",
            # Nothing but loopback is reachable: a call to AWS itself (STS, telemetry) fails the test.
            "HTTP_PROXY": unreachable, "HTTPS_PROXY": unreachable, "NO_PROXY": "127.0.0.1,localhost",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(SCRIPTS / "sagemaker-config.yaml"),
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
            "SMSTATE_URL": server.url,
            "SDK_BUCKET": bucket,
            "SDK_RESULT": str(observed),
            **env,
        }
        done = subprocess.run(
            [str(sdk_python), str(SCRIPTS / script)], env=environment, cwd=tmp_path,
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, f"{script}:\n{done.stderr[-4000:]}\n--- server log ---\n{server.log()[-3000:]}"
        return dict(json.loads(observed.read_text()))

    return run

"""The APIs the reliability tests torment smstate against: a local server and a moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import _post, moto_url  # noqa: F401 - the session's moto server
from tests.local.server_harness import ServerProcess

from .harness import Target, local_config, moto_config, moto_stack_config


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A local SageMaker of the tests' own (rollout waits at 1/100 speed), stopped at the end."""
    server = ServerProcess(tmp_path_factory.mktemp("reliability-local") / "home").start()
    yield server
    server.close()


@pytest.fixture
def local_target(local_server: ServerProcess) -> Target:
    return Target("local", local_server.url, local_config)


@pytest.fixture
def moto_target(moto_url: str) -> Target:  # noqa: F811
    target = Target("moto", moto_url, moto_config, reset=lambda: _post(f"{moto_url}/moto-api/reset"))
    target.reset()
    return target


@pytest.fixture
def moto_stack_target(moto_url: str) -> Target:  # noqa: F811
    target = Target("moto", moto_url, moto_stack_config, reset=lambda: _post(f"{moto_url}/moto-api/reset"), stack=True)
    target.reset()
    return target


@pytest.fixture(params=["local", "moto"])
def target(request: pytest.FixtureRequest) -> Target:
    """Each test that takes `target` runs against both APIs."""
    fixture: Target = request.getfixturevalue(f"{request.param}_target")
    return fixture

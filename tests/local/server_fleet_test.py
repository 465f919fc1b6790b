"""Fleets of two deployments of one endpoint share its directory, never an instance's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.local.fleet import Fleet, InvokeResultLike

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeInstance:
    """Always alive and ready; remembers the directory it was started in."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.alive = True

    async def wait_ready(self, timeout: float) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def exit_reason(self) -> str | None:
        return None

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None
    ) -> InvokeResultLike:
        raise NotImplementedError

    async def stop(self) -> None:
        self.alive = False


async def start_fake(model: dict[str, Any], workdir: Path, memory: int | None) -> FakeInstance:
    (workdir / "container-1.log").write_text(model["ModelName"])
    return FakeInstance(workdir)


async def test_the_fleets_of_two_deployments_get_directories_of_their_own(tmp_path: Path) -> None:
    old = Fleet("primary", {"ModelName": "v1"}, tmp_path, start_fake)
    new = Fleet("primary", {"ModelName": "v2"}, tmp_path, start_fake)
    await old.grow(2, 5)
    await new.grow(2, 5)
    old_dirs = [slot.workdir for slot in old.slots]
    new_dirs = [slot.workdir for slot in new.slots]
    assert len(set(old_dirs + new_dirs)) == 4
    await old.stop()
    assert [(d / "container-1.log").read_text() for d in new_dirs] == ["v2", "v2"]
    assert not any(d.exists() for d in old_dirs)
    await new.stop()

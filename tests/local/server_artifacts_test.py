"""The artifact cache of the local server: bombs refused, unused extractions removed."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.local.server_harness import (
    ServerProcess,
    clients,
    create_config,
    create_model,
    deploy,
    model_tar,
    wait_settled,
)

pytestmark = pytest.mark.timeout(120)


def extracted(home: Path) -> list[Path]:
    return sorted((home / "artifacts" / "models").glob("*"))


def wait_deleted(sm: Any, endpoint: str) -> None:
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


def test_deleting_the_last_user_removes_the_extracted_artifact(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home).start()
    try:
        sm, _ = clients(server.url)
        shared = model_tar(tmp_path / "shared", "shared")
        deploy(sm, "first", shared)
        create_model(sm, "second", shared)  # the same artifact, used by a second model
        deploy(sm, "other", model_tar(tmp_path / "other", "other"))
        assert len(extracted(home)) == 2

        sm.delete_endpoint(EndpointName="first")
        wait_deleted(sm, "first")
        sm.delete_model(ModelName="first")
        assert len(extracted(home)) == 2  # model "second" still names it
        sm.delete_model(ModelName="second")
        assert len(extracted(home)) == 1

        sm.delete_model(ModelName="other")  # the endpoint still serves it
        assert len(extracted(home)) == 1
        sm.delete_endpoint(EndpointName="other")
        wait_deleted(sm, "other")
        assert extracted(home) == []
    finally:
        server.close()


def test_a_compression_bomb_fails_the_endpoint_with_a_clear_reason(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        info = tarfile.TarInfo("weights.bin")
        info.size = 96 * 1024 * 1024
        tar.addfile(info, _zeros(info.size))
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, _ = clients(server.url)
        create_model(sm, "bomb", bomb)
        create_config(sm, "bomb", "bomb")
        sm.create_endpoint(EndpointName="bomb", EndpointConfigName="bomb")
        described = wait_settled(sm, "bomb")
        assert described["EndpointStatus"] == "Failed"
        assert "expands to more than 100 times its size" in described["FailureReason"]
        assert "SMSTATE_LOCAL_MAX_ARTIFACT_RATIO" in described["FailureReason"]
        assert extracted(tmp_path / "home") == []
    finally:
        server.close()


def _zeros(size: int) -> Any:
    import io

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            count = min(len(buffer), self.left)
            buffer[:count] = bytes(count)
            self.left -= count
            return count

    return Zeros()

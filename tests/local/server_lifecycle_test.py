"""Endpoint lifecycle across failures and restarts: Failed endpoints, deletion,
kill -9 and restart, interrupted updates, no orphan model servers."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import (
    PID_CODE,
    BROKEN_CODE,
    ServerProcess,
    model_servers,
    clients,
    create_config,
    create_model,
    deploy,
    invoke_label,
    model_tar,
    wait_in_service,
    wait_settled,
)

def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_deleted(sm: Any, endpoint: str) -> None:
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


def wait_gone(pids: set[int], timeout: float = 15.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


def test_failed_create_and_delete(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy(sm, "broken", model_tar(tmp_path, "broken", BROKEN_CODE), count=2, wait=False)
        described = wait_settled(sm, "broken")
        assert described["EndpointStatus"] == "Failed"
        assert "cannot load this model" in described["FailureReason"]
        with pytest.raises(Exception, match="Failed"):
            wait_in_service(sm, "broken")
        with pytest.raises(ClientError):
            rt.invoke_endpoint(EndpointName="broken", Body=b"1", ContentType="application/json")

        sm.delete_endpoint(EndpointName="broken")
        wait_deleted(sm, "broken")
        assert sm.list_endpoints(NameContains="broken")["Endpoints"] == []
    finally:
        server.close()


def test_delete_while_creating_leaves_no_model_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, _ = clients(server.url)
        slow = model_tar(tmp_path, "slow", "import time\n\ndef model_fn(model_dir):\n    time.sleep(30)\n")
        deploy(sm, "abandoned", slow, count=2, wait=False)
        assert server.process is not None
        deadline = time.monotonic() + 10
        while len(model_servers(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(model_servers(server.process.pid)) == 2
        sm.delete_endpoint(EndpointName="abandoned")
        wait_deleted(sm, "abandoned")
        assert model_servers(server.process.pid) == set()
    finally:
        server.close()


def test_sigterm_stops_every_model_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    sm, rt = clients(server.url)
    deploy(sm, "pids", model_tar(tmp_path, "pids", PID_CODE), count=3)
    pids = {int(invoke_label(rt, "pids")) for _ in range(9)}
    assert len(pids) == 3 and all(alive(p) for p in pids)
    assert server.terminate() == 0
    assert wait_gone(pids, timeout=1.0) == set()
    assert not (tmp_path / "home" / "server.pid").exists()


def test_delete_stops_the_model_servers(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        deploy(sm, "short-lived", model_tar(tmp_path, "pids", PID_CODE), count=2)
        pids = {int(invoke_label(rt, "short-lived")) for _ in range(4)}
        sm.delete_endpoint(EndpointName="short-lived")
        assert sm.describe_endpoint(EndpointName="short-lived")["EndpointStatus"] == "Deleting"
        wait_deleted(sm, "short-lived")
        assert wait_gone(pids, timeout=1.0) == set()
    finally:
        server.close()


def test_kill_9_then_restart_hosts_endpoints_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home).start()
    sm, rt = clients(server.url)
    deploy(sm, "survivor", model_tar(tmp_path, "pids", PID_CODE), count=2)
    deploy(sm, "also", model_tar(tmp_path / "v1", "v1"))
    old_pids = {int(invoke_label(rt, "survivor")) for _ in range(4)}
    server.kill()
    assert wait_gone(old_pids) == set(), "model servers outlived a killed server"

    restarted = ServerProcess(home, port=server.port).start()
    try:
        sm, rt = clients(restarted.url)
        status = sm.describe_endpoint(EndpointName="survivor")["EndpointStatus"]
        assert status in ("SystemUpdating", "InService")
        wait_in_service(sm, "survivor")
        wait_in_service(sm, "also")
        described = sm.describe_endpoint(EndpointName="survivor")
        assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
        assert "FailureReason" not in described
        new_pids = {int(invoke_label(rt, "survivor")) for _ in range(4)}
        assert len(new_pids) == 2 and not new_pids & old_pids
        assert invoke_label(rt, "also") == "v1"
    finally:
        restarted.close()


def test_update_interrupted_by_a_restart_is_rolled_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home).start()
    sm, rt = clients(server.url)
    deploy(sm, "interrupted", model_tar(tmp_path / "v1", "v1"))
    create_model(sm, "interrupted-v2", model_tar(tmp_path / "v2", "v2"))
    create_config(sm, "interrupted-v2", "interrupted-v2")
    routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 3600}
    config = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}
    sm.update_endpoint(EndpointName="interrupted", EndpointConfigName="interrupted-v2", DeploymentConfig=config)
    time.sleep(0.5)
    server.kill()

    restarted = ServerProcess(home, port=server.port).start()
    try:
        sm, rt = clients(restarted.url)
        described = wait_settled(sm, "interrupted")
        assert described["EndpointStatus"] == "InService"
        assert described["EndpointConfigName"] == "interrupted"
        assert "interrupted by a restart" in described["FailureReason"]
        assert invoke_label(rt, "interrupted") == "v1"
    finally:
        restarted.close()


def test_a_second_server_cannot_share_a_home(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "home").start()
    try:
        with pytest.raises(RuntimeError, match="already using"):
            ServerProcess(tmp_path / "home").start(timeout=10)
    finally:
        first.close()


def test_endpoint_names_are_case_insensitive_like_arns(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, _ = clients(server.url)
        deploy(sm, "Mixed", model_tar(tmp_path, "v1"), wait=False)
        with pytest.raises(ClientError) as caught:
            sm.create_endpoint(EndpointName="mixed", EndpointConfigName="Mixed")
        assert "already existing endpoint" in caught.value.response["Error"]["Message"]
        assert sm.describe_endpoint(EndpointName="Mixed")["EndpointArn"].endswith(":endpoint/mixed")
    finally:
        server.close()

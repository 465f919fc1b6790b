"""The next auto-start after a server died or is still stopping: it takes over the home."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.local import daemon
from tests.local.server_harness import PID_CODE, clients, deploy, free_port, invoke_label, model_servers, model_tar, wait_in_service
from tests.local.server_lifecycle_test import wait_gone

pytestmark = pytest.mark.timeout(120)

#: Answers after two seconds, so a stopping server has a request to drain.
SLOW_CODE = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    time.sleep(2)
    return {"label": str(os.getpid())}
'''


@pytest.fixture()
def url() -> Iterator[str]:
    address = f"http://127.0.0.1:{free_port()}"
    yield address
    daemon.stop(address)


def test_auto_start_after_kill_9_takes_over_the_leftovers(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon.ensure_running(url, home)
    dead = int(daemon.status(url, home)["pid"])
    sm, rt = clients(url)
    deploy(sm, "pids", model_tar(tmp_path, "pids", PID_CODE))
    model = int(invoke_label(rt, "pids"))
    os.kill(dead, signal.SIGKILL)
    reap(dead)
    assert wait_gone({dead, model}) == set()
    assert json.loads((home / "server.pid").read_text())["pid"] == dead  # left behind

    daemon.ensure_running(url, home)
    pid = int(daemon.status(url, home)["pid"])
    assert pid != dead and json.loads((home / "server.pid").read_text())["pid"] == pid
    wait_in_service(sm, "pids")
    assert int(invoke_label(rt, "pids")) != model
    assert daemon.stop(url, home) is True


def test_auto_start_while_the_previous_server_is_stopping(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon.ensure_running(url, home)
    old = int(daemon.status(url, home)["pid"])
    sm, rt = clients(url)
    deploy(sm, "slow", model_tar(tmp_path, "slow", SLOW_CODE))
    answers: list[str] = []
    request = threading.Thread(target=lambda: answers.append(invoke_label(rt, "slow")))
    request.start()
    wait_for_children(old)
    os.kill(old, signal.SIGTERM)  # it drains the slow request before it lets go of the home
    wait_not_answering(url)

    daemon.ensure_running(url, home, timeout=60)
    request.join(30)
    new = int(daemon.status(url, home)["pid"])
    reap(old)
    assert new != old and wait_gone({old}) == set()
    assert answers and answers[0].isdigit()  # the drained request was answered
    wait_in_service(sm, "slow")


def reap(pid: int) -> None:
    """Collect a server this test process started (daemon.ensure_running's child)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def wait_for_children(pid: int) -> None:
    deadline = time.monotonic() + 10
    while not model_servers(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the request reaches the model server


def wait_not_answering(url: str) -> None:
    deadline = time.monotonic() + 10
    while daemon.ping(url, timeout=0.5) is not None and time.monotonic() < deadline:
        time.sleep(0.05)

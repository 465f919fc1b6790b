"""Ctrl-C and SIGTERM against a hung API: the command ends when told, releases its lock, and the
state stays one the next run can pick up.

The proxy accepts the calls it is told to hang and never answers them (nothing is forwarded),
as an API behind a dead load balancer does: without interruptible waits every signal was
ignored until botocore's read timeouts, minutes later, and SIGTERM left a stale lock.

- plan (and the refresh of apply): the first signal stops at once; reads change nothing.
- apply's operations: the first signal starts nothing new, the second stops waiting; the
  creates in flight are recorded as in progress, and the next plan re-reads them.
- one signal while the last operation is in flight: apply waits for it, then exits 1.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import Result, assert_clean_failure

from .harness import Target, Workdir, check_converged
from .proxy import FaultProxy

WRITES = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint", "DeleteEndpoint", "DeleteEndpointConfig",
          "DeleteModel", "AddTags", "DeleteTags")  # fmt: skip


@pytest.fixture
def proxy(moto_target: Target) -> Iterator[FaultProxy]:
    with FaultProxy(moto_target.api_url) as proxy:
        yield proxy


@pytest.fixture
def work(moto_target: Target, proxy: FaultProxy, tmp_path: Path) -> Workdir:
    """Config A applied through the proxy."""
    work = Workdir.create(tmp_path / "work", moto_target, proxy.url)
    applied = work.run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    return work


def _hung(proxy: FaultProxy, proc: subprocess.Popen[str]) -> None:
    """Wait until the command sits in a call the proxy will not answer."""
    deadline = time.monotonic() + 60
    while not proxy.hanging.acquire(timeout=0.2):
        assert proc.poll() is None, f"exited {proc.returncode} before any call hung: {proc.communicate()}"
        assert time.monotonic() < deadline, "no call hung"


def _wait_handled(proc: subprocess.Popen[str], signum: signal.Signals) -> None:
    """Wait until the command handles `signum` (its handler installed: /proc's SigCgt mask)."""
    deadline = time.monotonic() + 60
    while True:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signum - 1)):
            return
        assert proc.poll() is None and time.monotonic() < deadline, "the command never installed its handler"
        time.sleep(0.05)


def _read_stderr_until(proc: subprocess.Popen[str], text: str) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 30
    while text not in seen:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(proc.stderr.fileno(), 65536).decode() if ready else ""
        assert chunk, f"{text!r} never appeared on stderr (exit {proc.poll()}):\n{seen}"
        seen += chunk
    return seen


def _finish(proc: subprocess.Popen[str], seen_err: str = "") -> Result:
    """The rest of the run: it must end on its own, at once, not at a read timeout minutes later."""
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Result(proc.returncode, out, seen_err + err)


def _lock(work: Workdir) -> Path:
    return work.state_file.with_name(work.state_file.name + ".lock")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=" ".join)
def test_refresh_against_a_hung_api_stops_at_once_and_releases_its_lock(
    work: Workdir, proxy: FaultProxy, signum: signal.Signals, command: tuple[str, ...]
) -> None:
    """plan, or apply before its first operation: only reads are in flight, so one signal stops it."""
    before = work.state_file.read_bytes()
    proxy.hang = lambda operation: True
    proc = work.popen(*command)
    _hung(proxy, proc)
    assert _lock(work).exists()
    proc.send_signal(signum)
    result = _finish(proc)
    assert_clean_failure(result, f"interrupted by {signum.name}")
    assert not _lock(work).exists(), "the lock was left behind"
    assert work.state_file.read_bytes() == before
    proxy.release()
    again = work.run("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, str(again)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_the_ownership_check_of_a_first_plan_stops_at_once(
    moto_target: Target, proxy: FaultProxy, tmp_path: Path, signum: signal.Signals
) -> None:
    """A first plan reads every name it would create (who owns it?): a signal must not wait for those reads,
    and a closed terminal (SIGHUP) releases the lock as Ctrl-C does."""
    work = Workdir.create(tmp_path / "first", moto_target, proxy.url)
    proxy.hang = lambda operation: operation.startswith("Describe")
    proc = work.popen("plan")
    _hung(proxy, proc)
    proc.send_signal(signum)
    result = _finish(proc)
    assert_clean_failure(result, f"interrupted by {signum.name}")
    assert not _lock(work).exists(), "the lock was left behind"
    assert not work.state_file.exists()


@pytest.mark.timeout(120)
def test_a_signal_while_waiting_for_a_held_lock_leaves_that_lock_alone(work: Workdir) -> None:
    held = {"id": "other", "operation": "apply", "pid": 1, "host": "ci", "user": "u", "time": "t"}
    _lock(work).write_text(json.dumps(held))
    proc = work.popen("plan", "--lock-timeout", "10m")
    _wait_handled(proc, signal.SIGTERM)  # from here on, any moment must do: loading, or waiting for the lock
    proc.send_signal(signal.SIGTERM)
    result = _finish(proc)
    assert_clean_failure(result, "interrupted by SIGTERM")
    assert json.loads(_lock(work).read_text()) == held


@pytest.mark.timeout(120)
def test_apply_two_interrupts_against_a_hung_api(work: Workdir, proxy: FaultProxy) -> None:
    """B creates models d and spare (hung), deletes c and retags b: the first Ctrl-C starts nothing
    new, the second stops waiting for the hung creates, which are recorded as in progress."""
    work.use("B")
    serial = work.serial()
    proxy.hang = lambda operation: operation == "CreateModel"
    proc = work.popen("apply", "--auto-approve")
    _hung(proxy, proc)
    proc.send_signal(signal.SIGINT)
    seen = _read_stderr_until(proc, "no new ones will start")
    assert proc.poll() is None, "the first Ctrl-C must let the operations in flight finish"
    proc.send_signal(signal.SIGINT)
    result = _finish(proc, seen)
    errors = assert_clean_failure(result, "interrupted: stopped waiting for", f"models.{work.prefix}d")
    assert "Apply complete!" not in result.out
    assert not _lock(work).exists(), "the lock was left behind"
    state = work.state()
    assert state is not None and state.serial > serial
    recorded = state.resources[f"models.{work.prefix}d"]
    assert recorded.status == "creating" and recorded.physical_name, errors
    proxy.release(forward=False)  # the hung creates never reached the API
    planned = work.run("plan")
    assert planned.code == 0 and "Traceback" not in planned.err, str(planned)
    assert f"+ models.{work.prefix}d " in planned.out, str(planned)
    finished = work.run("apply", "--auto-approve")
    assert finished.code == 0, str(finished)
    check_converged(work, state.serial)


@pytest.mark.timeout(120)
def test_one_interrupt_with_nothing_left_to_start_still_fails(work: Workdir, proxy: FaultProxy) -> None:
    """One operation (a tag change), hung; Ctrl-C; then the API answers: the operation completes
    and is recorded, and apply exits 1 (it used to say "Apply complete!" and exit 0)."""
    work.dir.joinpath("smstate.yaml").write_text(work.dir.joinpath("smstate.yaml").read_text().replace("stage: one", "stage: uno"))
    proxy.hang = lambda operation: operation in WRITES
    proc = work.popen("apply", "--auto-approve")
    _hung(proxy, proc)
    proc.send_signal(signal.SIGINT)
    seen = _read_stderr_until(proc, "no new ones will start")
    proxy.release()
    result = _finish(proc, seen)
    assert_clean_failure(result, "interrupted")
    assert "Apply complete!" not in result.out
    assert not _lock(work).exists()
    state = work.state()
    assert state is not None
    assert state.resources[f"endpoints.{work.prefix}b"].tags == {"stage": "uno"}
    check_converged(work, state.serial)


@pytest.mark.timeout(180)
def test_plan_on_the_local_target_stops_at_once(local_target: Target, tmp_path: Path) -> None:
    """The same on the local target: its control plane hung behind the proxy, SIGTERM, lock released."""
    with FaultProxy(local_target.api_url) as proxy:
        work = Workdir.create(tmp_path / "local", local_target, proxy.url)
        applied = work.run("apply", "--auto-approve")
        assert applied.code == 0, str(applied)
        proxy.hang = lambda operation: True
        proc = work.popen("plan")
        _hung(proxy, proc)
        proc.send_signal(signal.SIGTERM)
        assert_clean_failure(_finish(proc), "interrupted by SIGTERM")
        assert not _lock(work).exists(), "the lock was left behind"
        proxy.release()
        again = work.run("plan", "--detailed-exitcode")
        assert again.code == 0 and "No changes." in again.out, str(again)
        destroyed = work.run("destroy", "--auto-approve")
        assert destroyed.code == 0, str(destroyed)

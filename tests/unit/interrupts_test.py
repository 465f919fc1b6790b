"""Signals and the state lock: no signal, wherever it lands, leaves a lock behind or half-released."""

from __future__ import annotations

import os
import signal

import pytest

from smstate import interrupts
from smstate.backends import LockInfo
from smstate.pipeline import locked


class Backend:
    """Records what happens; sends itself SIGTERM in the middle of taking or releasing the lock."""

    def __init__(self, signal_in: str) -> None:
        self.signal_in = signal_in
        self.events: list[str] = []

    def lock(self, operation: str, timeout: float) -> LockInfo:
        if self.signal_in == "lock":
            os.kill(os.getpid(), signal.SIGTERM)
        self.events.append("locked")
        return LockInfo.new(operation)

    def unlock(self, info: LockInfo) -> None:
        if self.signal_in == "unlock":
            os.kill(os.getpid(), signal.SIGTERM)
        self.events.append("unlocked")


def _run(backend: Backend) -> None:
    with interrupts.installed(), locked(backend, "plan", 0):  # type: ignore[arg-type]
        backend.events.append("body")
        if backend.signal_in == "body":
            os.kill(os.getpid(), signal.SIGTERM)
            backend.events.append("went on after the signal")


@pytest.mark.parametrize(
    "signal_in, events",
    [
        ("lock", ["locked", "unlocked"]),  # taken whole, then released before the body runs
        ("body", ["locked", "body", "unlocked"]),  # the body stops at once
        ("unlock", ["locked", "body", "unlocked"]),  # the release finishes, then the command stops
    ],
)
def test_a_signal_anywhere_releases_the_lock_and_stops_the_command(signal_in: str, events: list[str]) -> None:
    backend = Backend(signal_in)
    with pytest.raises(interrupts.Interrupted, match="SIGTERM"):
        _run(backend)
    assert backend.events == events


def test_the_handlers_are_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    _run(Backend("none"))
    assert signal.getsignal(signal.SIGTERM) == before

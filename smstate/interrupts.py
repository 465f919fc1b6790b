"""SIGINT (Ctrl-C), SIGTERM (how CI cancels a job) and SIGHUP (a closed terminal) end every command cleanly.

Outside apply's operations a signal stops the command at once: it is raised in the main
thread as `Interrupted`, even out of a wait on worker threads or a socket read, so `finally`
blocks run and the state lock is released. Reads are all there is to stop there, and a read
left half-done changes nothing.

While apply's operations run (`graceful`), signals are counted instead: the first starts no
new operation and lets those in flight finish, the second stops waiting for them.

Taking and releasing the lock is `deferred`: a signal then waits until the lock file is
whole and the command is in the block that releases it, so no signal leaves a lock behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, a CI cancellation, and a closed terminal or SSH session: each would otherwise leave the lock behind."""

OnSignal = Callable[[int], None]


class Interrupted(BaseException):
    """A signal asked the command to stop.

    A BaseException, as KeyboardInterrupt is, so that no `except Exception` swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class _Handler:
    def __init__(self) -> None:
        self.deferred = 0
        self.pending: int | None = None
        self.graceful: list[OnSignal] = []
        self.wake = threading.Event()
        self.raised = False
        """The command is ending on a signal: later ones must not break off its clean-up."""

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.wake.set()
        if self.graceful:
            self.graceful[-1](signum)
        elif self.deferred or self.raised:
            self.pending = self.pending or signum
        else:
            self.raised = True
            raise Interrupted(signum)

    def raise_pending(self) -> None:
        signum, self.pending = self.pending, None
        if signum is not None and not self.raised:
            self.raised = True
            raise Interrupted(signum)


handler = _Handler()
"""The one handler; `handler.deferred` is a counter that code may raise inline (see `pipeline.locked`)."""


@contextmanager
def installed() -> Iterator[None]:
    """Handle SIGINT and SIGTERM for the block (a whole command); only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        handler.pending, handler.raised = None, False


@contextmanager
def deferred() -> Iterator[None]:
    """Hold signals for the block; one that came meanwhile is raised when the block ends."""
    handler.deferred += 1
    try:
        yield
    finally:
        handler.deferred -= 1
    if not handler.deferred:
        handler.raise_pending()


@contextmanager
def graceful(on_signal: OnSignal) -> Iterator[None]:
    """Call `on_signal(signum)` for each signal during the block, instead of stopping at once."""
    handler.graceful.append(on_signal)
    try:
        yield
    finally:
        handler.graceful.pop()


def sleep(seconds: float) -> None:
    """`time.sleep` that a signal ends at once, raising it even inside `deferred` (a wait holds nothing)."""
    handler.wake.clear()
    handler.raise_pending()
    handler.wake.wait(seconds)
    handler.raise_pending()

"""The state commit of an apply: every finished operation is on disk before it is reported.

A crash then loses at most the operations in flight, and content-derived names and ownership
tags let the next run adopt what they created. Operations that finish while a save is being
written are saved together by the next one (a group commit), so a slow disk does not hold
every worker in line; each still returns only once its change is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from .errors import StateWriteError
from .outcome import StoppedWaiting, Unrecorded
from .state import ObjectState, State

StateSink = Callable[[State], None]
"""Writes a state as the statefile's next version (the state layer bumps its serial)."""


class Commit:
    """The state an apply changes, and the saving of it."""

    def __init__(self, state: State, save: StateSink) -> None:
        self.state = state
        self._save = save
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._changes = 0
        self._saved = 0
        self.on_disk = state.serial
        """The serial of the last save that reached the disk."""
        self._closed_for: int | None = None
        """Once apply stopped waiting: the one thread (the scheduler's) that may still save."""

    def __call__(self, mutate: Callable[[State], None], done: str) -> None:
        """Change the state and return once a save that holds the change is on disk.

        The save writes a snapshot, so other operations go on changing the state meanwhile.
        `done` says what the operation did, for the error when the save fails (a full disk).
        """
        with self._lock:
            if self._closed_for not in (None, threading.get_ident()):
                raise StoppedWaiting(f"{done}, after apply stopped waiting for it; the next plan re-reads it")
            mutate(self.state)
            self._changes += 1
            mine = self._changes
        with self._save_lock:
            if self._saved >= mine:
                return
            with self._lock:
                snapshot, covered = self.state.snapshot(), self._changes
            try:
                self._save(snapshot)
            except StateWriteError as error:
                raise Unrecorded(done, error) from None
            with self._lock:
                self.state.serial = snapshot.serial  # the serial the state layer gave the save
            self._saved, self.on_disk = covered, snapshot.serial

    def close(self) -> None:
        """Apply stopped waiting: from now on only this thread's changes are saved; the
        abandoned operations' threads may finish, but never write the state again."""
        with self._save_lock, self._lock:
            self._closed_for = threading.get_ident()

    def copy(self) -> State:
        """The state as it is now, for an evaluation while other operations change it."""
        with self._lock:
            return replace(self.state, resources=dict(self.state.resources))

    def items(self) -> list[tuple[str, ObjectState]]:
        with self._lock:
            return list(self.state.resources.items())

"""State backends: where the statefile lives and how it is locked."""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from collections.abc import Callable
from typing import Protocol

from .. import interrupts
from ..errors import LockError
from ..state import State


@dataclass(frozen=True)
class LockInfo:
    """Who holds the state lock, so a refused command can say so."""

    id: str
    operation: str
    pid: int
    host: str
    user: str
    time: str

    @classmethod
    def new(cls, operation: str) -> LockInfo:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no user database in some containers
            user = str(os.getuid())
        return cls(
            id=str(uuid.uuid4()),
            operation=operation,
            pid=os.getpid(),
            host=socket.gethostname(),
            user=user,
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        return f"ID {self.id}, operation {self.operation}, by {self.user}@{self.host} pid {self.pid}, since {self.time}"


def wait_for_lock(take: Callable[[], bool], timeout: float, refusal: Callable[[], str], delay: float) -> None:
    """Call `take` until it gets the lock, backing off (doubling up to 2 s), or `timeout` passes:
    then `LockError` with `refusal()`. A signal ends the wait at once."""
    deadline = time.monotonic() + timeout
    while not take():
        if time.monotonic() >= deadline:
            raise LockError(refusal())
        interrupts.sleep(delay)
        delay = min(delay * 2, 2.0)


def held_message(held: LockInfo | None, unreadable: str) -> str:
    """Why the lock cannot be taken: who holds it, or `unreadable` when the lock cannot be read."""
    if held is None:
        return unreadable
    return (
        f"the state is locked by another command ({held.describe()}); wait for it, pass --lock-timeout, "
        f"or run `smstate force-unlock {held.id}` if it is dead"
    )


class Backend(Protocol):
    """Reads and writes one statefile, and holds its lock."""

    def read(self) -> State | None: ...

    def write(self, state: State) -> None: ...

    def lock(self, operation: str, timeout: float) -> LockInfo: ...

    def unlock(self, info: LockInfo) -> None: ...

    def force_unlock(self, lock_id: str) -> None: ...

    def delete(self) -> None:
        """Remove the statefile and its backup (an emptied workspace)."""

    def describe(self) -> str: ...

"""State backends: where the statefile lives and how it is locked."""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Protocol

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

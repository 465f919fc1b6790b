"""Apply progress in Terraform's shape: a line when an operation starts, changes stage, ends."""

from __future__ import annotations

import threading
import time

from rich.console import Console

from .operations import Operation
from .provider import Progress

_DONE = {"Creating": "Creation complete", "Modifying": "Modifications complete", "Destroying": "Destruction complete"}
_STILL = {"Creating": "Still creating...", "Modifying": "Still modifying...", "Destroying": "Still destroying..."}
HEARTBEAT = 10.0


class LineProgress:
    """Prints progress lines; a long wait reports its stage when it changes and every 10 s."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._started: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._last: dict[tuple[str, str, str], tuple[str, float]] = {}

    def started(self, op: Operation, verb: str) -> None:
        with self._lock:
            self._started[op.key] = (verb, time.monotonic())
        target = op.change.deposed or op.change.prior
        name = f" [{target.id}]" if target and verb == "Destroying" else ""
        self.console.print(f"{op.change.address}: {verb}...{name}", highlight=False)

    def progress(self, op: Operation, progress: Progress) -> None:
        now = time.monotonic()
        label = progress.status + (f" - {progress.stage}" if progress.stage else "")
        with self._lock:
            verb, start = self._started.get(op.key, ("Creating", now))
            last_label, last_time = self._last.get(op.key, ("", 0.0))
            if label == last_label and now - last_time < HEARTBEAT:
                return
            self._last[op.key] = (label, now)
        self.console.print(
            f"{op.change.address}: {_STILL.get(verb, 'Still working...')} [{now - start:.0f}s elapsed] {label}",
            highlight=False,
        )

    def finished(self, op: Operation, error: str | None) -> None:
        with self._lock:
            verb, start = self._started.pop(op.key, ("", time.monotonic()))
            self._last.pop(op.key, None)
        if error is None:
            self.console.print(f"{op.change.address}: {_DONE.get(verb, 'Done')} after {time.monotonic() - start:.0f}s", highlight=False)
        elif error.startswith(("skipped", "completed", "stopped")):  # not a failure of the operation
            self.console.print(f"{op.change.address}: {error}", highlight=False)
        else:
            self.console.print(f"[red]{op.change.address}: failed[/red]", highlight=False)

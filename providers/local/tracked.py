"""The objects of one registry table that the server brings to life in the background.

Each object has at most one background task at a time (its create, update or delete);
its record is merged and saved whole, and a task that fails is logged, not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from providers.local.registry import Record, Registry, Table, key_of

log = logging.getLogger("smstate.local")


class Tracked:
    """Records of one table, and the one background task each object may have."""

    def __init__(self, registry: Registry, table: Table, label: str) -> None:
        self.registry = registry
        self.table = table
        self._label = label
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def record(self, name: str) -> Record | None:
        return self.registry.get(self.table, key_of(name))

    def save(self, name: str, record: Record, **describe: Any) -> None:
        """Merge `describe` fields (None removes one) and persist."""
        fields = record["describe"]
        for field, value in describe.items():
            if value is None:
                fields.pop(field, None)
            else:
                fields[field] = value
        fields["LastModifiedTime"] = time.time()
        self.registry.put(self.table, key_of(name), record)

    def run(self, name: str, job: Any) -> None:
        """Run `job` (a coroutine) as the object's one background task."""
        key = key_of(name)
        task = asyncio.get_running_loop().create_task(job, name=f"{self._label}:{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("%s %s: %s", self._label, key, task.exception(), exc_info=task.exception())

    def busy(self, name: str) -> bool:
        return key_of(name) in self._tasks

    async def cancel(self, name: str) -> None:
        task = self._tasks.pop(key_of(name), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def stop_tasks(self) -> None:
        """Cancel every background task and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""The services beyond SageMaker, wired to the endpoints they watch and scale.

One metric store takes what the invocation gateway publishes; CloudWatch reads
it and evaluates alarms on it; auto-rollback reads the alarms' states.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from providers.local.cloudwatch.alarms import Alarms
from providers.local.cloudwatch.api import CloudWatch
from providers.local.lifecycle import Endpoints
from providers.local.metrics import Metrics, MetricStore
from providers.local.protocols import Dispatcher


class Extras:
    """CloudWatch (and its background evaluation) for one server."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.store = MetricStore()
        self.metrics = Metrics(self.store)
        self.alarms = Alarms(self.store)
        self.dispatcher = Dispatcher([CloudWatch(self.alarms).service()])
        self._tasks: list[asyncio.Task[None]] = []
        endpoints.alarm_check = self.firing

    def firing(self, names: Sequence[str]) -> str | None:
        """The first of the alarms `names` that is in ALARM, if any."""
        return next((name for name in names if self.alarms.state(name) == "ALARM"), None)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.alarms.run(), name="alarms"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

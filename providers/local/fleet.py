"""A fleet: the model-server instances behind one production variant.

Rules:
- an instance takes traffic only once it answered `/ping` (`wait_ready`), and
  a fleet grows all-or-nothing: if one new instance cannot start, the ones started
  with it are stopped again and the hosting error is raised;
- requests go round-robin across the fleet's instances;
- an instance leaves the rotation first and is stopped only once its in-flight
  requests have finished (draining), so shrinking or retiring a fleet never drops
  a request;
- the fleet counts requests and server-side failures (5xx from the model, or an
  instance that could not be reached): the rollout's error-rate check reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("smstate.local")

#: Longest wait for in-flight requests before an instance is stopped anyway.
DRAIN_TIMEOUT = 60.0


class InvokeResultLike(Protocol):
    """What the gateway relays from `providers.local.hosting.InvokeResult`."""

    @property
    def status(self) -> int: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def body(self) -> bytes: ...

    @property
    def custom_attributes(self) -> str | None: ...


class Instance(Protocol):
    """What the fleet needs from `providers.local.hosting.ModelInstance`."""

    @property
    def alive(self) -> bool: ...

    async def wait_ready(self, timeout: float) -> None: ...

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None
    ) -> InvokeResultLike: ...

    async def stop(self) -> None: ...


#: Starts one instance of `model` in `workdir` (runtime and interpreter bound in).
Starter = Callable[[dict[str, Any], Path], Awaitable[Instance]]


class Slot:
    """An instance plus its count of requests in flight."""

    __slots__ = ("instance", "in_flight", "workdir")

    def __init__(self, instance: Instance, workdir: Path) -> None:
        self.instance = instance
        self.in_flight = 0
        self.workdir = workdir


class Fleet:
    """The instances serving `variant` with `model` (a DescribeModel dict)."""

    def __init__(
        self,
        variant: str,
        model: dict[str, Any],
        workdir: Path,
        starter: Starter,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.variant = variant
        self.variant_header = variant.encode()
        self.model = model
        self.workdir = workdir
        self._starter = starter
        self._on_change = on_change
        self._slots: list[Slot] = []
        self._turn = 0
        self._serial = itertools.count()
        self.requests = 0
        self.failures = 0

    @property
    def size(self) -> int:
        return len(self._slots)

    def healthy(self) -> bool:
        return all(slot.instance.alive for slot in self._slots)

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None
    ) -> InvokeResultLike:
        """Hand one request to the next instance in turn (the fleet is not empty)."""
        slots = self._slots
        self._turn = turn = (self._turn + 1) % len(slots)
        slot = slots[turn]
        slot.in_flight += 1
        self.requests += 1
        try:
            result = await slot.instance.invoke(body, content_type, accept, custom_attributes)
        except BaseException:
            self.failures += 1
            raise
        finally:
            slot.in_flight -= 1
        if result.status >= 500:
            self.failures += 1
        return result

    async def grow(self, count: int, timeout: float) -> None:
        """Start `count` more instances; all of them join, or none does."""
        if count <= 0:
            return
        workdirs = [self.workdir / f"{self.variant}-{next(self._serial)}" for _ in range(count)]
        tasks = [asyncio.ensure_future(self._start(workdir, timeout)) for workdir in workdirs]
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await _stop_started(tasks)
            raise
        failures = [t.exception() for t in tasks if t.exception() is not None]
        if failures:
            await _stop_started(tasks)
            raise failures[0]  # type: ignore[misc]
        started = [t.result() for t in tasks]
        self._slots.extend(started)
        self._on_change()

    async def _start(self, workdir: Path, timeout: float) -> Slot:
        workdir.mkdir(parents=True, exist_ok=True)
        instance = await self._starter(self.model, workdir)
        try:
            await instance.wait_ready(timeout)
        except BaseException:
            await _stop(Slot(instance, workdir))
            raise
        return Slot(instance, workdir)

    async def shrink(self, count: int) -> None:
        """Take `count` instances out of rotation, drain them, stop them."""
        count = min(count, len(self._slots))
        if count <= 0:
            return
        leaving = self._slots[-count:]
        self._slots = self._slots[:-count]
        self._on_change()
        await asyncio.gather(*(_drain_and_stop(slot) for slot in leaving))

    async def stop(self) -> None:
        await self.shrink(len(self._slots))


async def _stop_started(tasks: Sequence[asyncio.Future[Slot]]) -> None:
    """Stop the instances that did start when their batch as a whole failed."""
    await asyncio.gather(*tasks, return_exceptions=True)
    started = [t.result() for t in tasks if not t.cancelled() and t.exception() is None]
    await asyncio.gather(*(_stop(slot) for slot in started))


async def _drain_and_stop(slot: Slot) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while slot.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await _stop(slot)


async def _stop(slot: Slot) -> None:
    try:
        await slot.instance.stop()
    except Exception as exc:  # a dead instance may fail to stop; it is gone either way
        log.warning("stopping a model server failed: %s", exc)
    with contextlib.suppress(OSError):
        await asyncio.to_thread(shutil.rmtree, slot.workdir, True)

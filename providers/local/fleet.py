"""A fleet: the model-server instances behind one production variant.

Rules:
- an instance takes traffic only once it answered `/ping` (`wait_ready`), and
  a fleet grows all-or-nothing: if one new instance cannot start, the ones started
  with it are stopped again and the hosting error is raised;
- requests go round-robin across the fleet's live instances;
- an instance leaves the rotation first and is stopped only once its in-flight
  requests have finished (draining), so shrinking or retiring a fleet never drops
  a request;
- the fleet supervises its instances (`providers.local.supervision`): one that
  exits, or stops answering `/ping`, leaves the rotation at once and is replaced,
  as SageMaker replaces an unhealthy instance.

Each instance runs in a directory of its own (its socket and its log are there),
never shared with an instance of another deployment of the same endpoint.

`size` is the number of instances the fleet is meant to have (what rollouts and
scaling reason about); `serving` is how many are in rotation now. They differ
while an instance is being replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from providers.local.hosting.errors import RequestRefused

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

    async def ping(self) -> bool: ...

    async def exit_reason(self) -> str | None: ...

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        target_model: str | None = None,
    ) -> InvokeResultLike: ...

    async def stop(self) -> None: ...


#: Starts one instance of `model` in `workdir` with at most `memory` bytes
#: (None: unbounded); the runtime and interpreter are bound in.
Starter = Callable[[dict[str, Any], Path, "int | None"], Awaitable[Instance]]


class NoHealthyInstance(Exception):
    """Every instance of the fleet is being replaced."""


class Slot:
    """An instance plus its count of requests in flight."""

    __slots__ = ("instance", "in_flight", "workdir", "failed_pings")

    def __init__(self, instance: Instance, workdir: Path) -> None:
        self.instance = instance
        self.in_flight = 0
        self.workdir = workdir
        self.failed_pings = 0


class Fleet:
    """The instances serving `variant` with `model` (a DescribeModel dict)."""

    def __init__(
        self,
        variant: str,
        model: dict[str, Any],
        workdir: Path,
        starter: Starter,
        on_change: Callable[[], None] = lambda: None,
        memory: int | None = None,
    ) -> None:
        self.variant = variant
        self.variant_header = variant.encode()
        self.model = model
        self.workdir = workdir
        self.memory = memory
        self._starter = starter
        self._on_change = on_change
        self._slots: list[Slot] = []
        self._wanted = 0
        self._turn = 0
        self._serial = itertools.count()
        #: Instances that died or stopped answering, over the fleet's life.
        self.lost = 0
        self.startup_timeout = 0.0
        self.wake = asyncio.Event()
        #: While instances are being replaced: (how many, why, since when).
        self.repair: tuple[int, str, float] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        #: Pick a live instance with the fewest requests in flight rather than the next in turn.
        self.least_outstanding = False
        #: What requests pass through first (`providers.local.serverless.Gate`), if anything.
        self.gate: Any = None

    @property
    def size(self) -> int:
        return self._wanted

    @property
    def serving(self) -> int:
        return len(self._slots)

    @property
    def slots(self) -> list[Slot]:
        return self._slots

    def healthy(self) -> bool:
        """No instance is missing or dead, and none ever was (a rollout's bake reads it)."""
        return not self.lost and len(self._slots) == self._wanted and all(s.instance.alive for s in self._slots)

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        target_model: str | None = None,
    ) -> InvokeResultLike:
        """Hand one request to the next live instance in turn."""
        slot = self._next()
        slot.in_flight += 1
        try:
            return await slot.instance.invoke(body, content_type, accept, custom_attributes, target_model)
        except RequestRefused:
            raise
        except BaseException:
            self.wake.set()  # an unreachable instance: let the supervisor look now
            raise
        finally:
            slot.in_flight -= 1

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Instance]:
        """The next live instance for a request that outlasts one call (a stream), counted as in flight while held."""
        slot = self._next()
        slot.in_flight += 1
        try:
            yield slot.instance
        finally:
            slot.in_flight -= 1

    def _next(self) -> Slot:
        slots = self._slots
        if self.least_outstanding:
            live = [s for s in slots if s.instance.alive]
            if live:
                fewest = min(s.in_flight for s in live)
                return random.choice([s for s in live if s.in_flight == fewest])
        for _ in range(len(slots)):
            self._turn = turn = (self._turn + 1) % len(slots)
            if slots[turn].instance.alive:
                return slots[turn]
        if slots:
            self.wake.set()
        raise NoHealthyInstance(f"no instance of variant {self.variant} is healthy; replacing it")

    async def grow(self, count: int, timeout: float) -> None:
        """Start `count` more instances; all of them join, or none does."""
        if count <= 0:
            return
        self.startup_timeout = timeout
        tasks = [asyncio.ensure_future(self.start_one(timeout)) for _ in range(count)]
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
        self._slots.extend(t.result() for t in tasks)
        self._wanted += count
        self._supervise()
        self._on_change()

    async def start_one(self, timeout: float) -> Slot:
        """One new instance, ready to serve (not yet in rotation)."""
        workdir = self._new_workdir()
        instance = await self._starter(self.model, workdir, self.memory)
        try:
            await instance.wait_ready(timeout)
        except BaseException:
            await stop_slot(Slot(instance, workdir))
            raise
        return Slot(instance, workdir)

    def _new_workdir(self) -> Path:
        """A directory of its own for one instance (its socket and log live there):
        every deployment of an endpoint, old and new, shares `self.workdir`."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        while True:
            workdir = self.workdir / f"{self.variant}-{next(self._serial)}"
            try:
                workdir.mkdir()
            except FileExistsError:  # another deployment's instance, alive or not yet removed
                continue
            return workdir

    def admit(self, slot: Slot) -> bool:
        """Put a replacement in rotation if the fleet still wants it."""
        if len(self._slots) >= self._wanted:
            return False
        self._slots.append(slot)
        self._on_change()
        return True

    def evict(self, slot: Slot) -> bool:
        """Take an instance out of rotation (it stays wanted: it is to be replaced)."""
        if slot not in self._slots:
            return False
        self.lost += 1
        self._slots.remove(slot)
        self._on_change()
        return True

    async def shrink(self, count: int) -> None:
        """Take `count` instances out of rotation, drain them, stop them."""
        count = min(count, self._wanted)
        if count <= 0:
            return
        self._wanted -= count
        leaving = self._slots[self._wanted :]
        self._slots = self._slots[: self._wanted]
        self._on_change()
        await asyncio.gather(*(_drain_and_stop(slot) for slot in leaving))

    async def stop(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(BaseException):
                await supervisor
        await self.shrink(self._wanted)

    def _supervise(self) -> None:
        if self._supervisor is None:
            from providers.local.supervision import supervise

            self._supervisor = asyncio.get_running_loop().create_task(
                supervise(self), name=f"supervise:{self.variant}"
            )


async def _stop_started(tasks: Sequence[asyncio.Future[Slot]]) -> None:
    """Stop the instances that did start when their batch as a whole failed."""
    await asyncio.gather(*tasks, return_exceptions=True)
    started = [t.result() for t in tasks if not t.cancelled() and t.exception() is None]
    await asyncio.gather(*(stop_slot(slot) for slot in started))


async def _drain_and_stop(slot: Slot) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while slot.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await stop_slot(slot)


async def stop_slot(slot: Slot) -> None:
    try:
        await slot.instance.stop()
    except Exception as exc:  # a dead instance may fail to stop; it is gone either way
        log.warning("stopping a model server failed: %s", exc)
    with contextlib.suppress(OSError):
        await asyncio.to_thread(shutil.rmtree, slot.workdir, True)

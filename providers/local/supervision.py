"""Instance supervision: a fleet's dead or unresponsive instances are replaced.

Every half second (at once when a request could not reach an instance) the
supervisor of a fleet looks at each instance in rotation: one whose model server
exited (crashed, was killed, ran out of its instance type's memory) is unhealthy,
as is an idle one that failed `/ping` three times in a row (pinged every two
seconds; a busy one is judged by its requests instead, since a model server
answers `/ping` between predictions). An unhealthy instance leaves the rotation at
once, so traffic goes only to the healthy ones, and is stopped; a new instance is
started in its place, with retries (1 s, 2 s, ... up to 30 s apart) until it
answers `/ping` or the fleet no longer wants it. While that goes on, the fleet's
`repair` says so, which DescribeEndpoint shows as a lower `CurrentInstanceCount`
and a `VariantStatus` of `Updating`; the endpoint stays `InService`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from providers.local.fleet import Fleet, Slot, stop_slot

log = logging.getLogger("smstate.local")

CHECK_EVERY = 0.5
PING_EVERY = 2.0
PING_FAILURES = 3
RETRY_FIRST, RETRY_LAST = 1.0, 30.0


class Repairs:
    """The replacements in progress in one fleet, mirrored into `fleet.repair`."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.tasks: set[asyncio.Task[None]] = set()
        self.since = 0.0

    def begin(self, slot: Slot, reason: str) -> None:
        if not self.tasks:
            self.since = time.time()
        task = asyncio.get_running_loop().create_task(self._replace(slot, reason))
        self.tasks.add(task)
        task.add_done_callback(self._done)
        self.note(reason)

    def note(self, reason: str) -> None:
        self.fleet.repair = (len(self.tasks), reason, self.since)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self.fleet.repair = None
        elif self.fleet.repair is not None:
            self.note(self.fleet.repair[1])

    async def _replace(self, slot: Slot, reason: str) -> None:
        fleet = self.fleet
        where = f"{fleet.workdir.name}/{fleet.variant}"
        log.warning("endpoint %s: an instance is unhealthy (%s); replacing it", where, reason)
        stopping = asyncio.ensure_future(stop_slot(slot))  # runs on even if the fleet stops meanwhile
        try:
            await self._start_replacement(reason, where)
        finally:
            await asyncio.shield(stopping)

    async def _start_replacement(self, reason: str, where: str) -> None:
        fleet = self.fleet
        delay = RETRY_FIRST
        while fleet.serving < fleet.size:
            try:
                new = await fleet.start_one(fleet.startup_timeout)
            except Exception as exc:
                log.warning("endpoint %s: the replacement instance failed: %s", where, exc)
                self.note(f"{reason}; the replacement failed: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_LAST)
                continue
            if fleet.admit(new):
                log.info("endpoint %s: the replacement instance is in service", where)
            else:
                await stop_slot(new)
            return

    async def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def supervise(fleet: Fleet) -> None:
    """Watch `fleet` until cancelled (when the fleet stops)."""
    repairs = Repairs(fleet)
    loop = asyncio.get_running_loop()
    last_ping = loop.time()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fleet.wake.wait(), CHECK_EVERY)
            fleet.wake.clear()
            ping = loop.time() - last_ping >= PING_EVERY
            if ping:
                last_ping = loop.time()
            slots = list(fleet.slots)
            reasons = await asyncio.gather(*(_unhealthy(slot, ping) for slot in slots))
            for slot, reason in zip(slots, reasons):
                if reason is not None and fleet.evict(slot):
                    repairs.begin(slot, reason)
    finally:
        await repairs.cancel()


async def _unhealthy(slot: Slot, ping: bool) -> str | None:
    """Why the instance must be replaced, or None while it is healthy."""
    instance = slot.instance
    if not instance.alive:
        return await instance.exit_reason() or "its model server stopped"
    if not ping or slot.in_flight:
        return None
    if await instance.ping():
        slot.failed_pings = 0
        return None
    slot.failed_pings += 1
    if slot.failed_pings >= PING_FAILURES:
        return f"it did not answer /ping {PING_FAILURES} times in a row"
    return None

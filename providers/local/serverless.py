"""Serverless variants: concurrency limits, cold starts, provisioned concurrency.

A variant with a `ServerlessConfig` is served by one instance (its memory is
`MemorySizeInMB`), behind a `Gate` that does what SageMaker Serverless Inference
does:

- at most `MaxConcurrency` requests run at once; one more is refused at once, never
  queued, as sagemaker-runtime throttles: `ThrottlingException`, HTTP 400, no message;
- after `IDLE_SECONDS` without a request (times `SMSTATE_LOCAL_TIME_SCALE`) the
  instance is stopped: the variant scales to zero and stays routable; the next
  request starts it again first (a cold start) and is then served;
- with `ProvisionedConcurrency` the instance is kept warm: it never scales to zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from providers.local.errors import ApiError
from providers.local.fleet import Fleet, InvokeResultLike
from providers.local.settings import time_scale

log = logging.getLogger("smstate.local")

#: Idle time before a serverless variant without provisioned concurrency scales to zero.
IDLE_SECONDS = 300.0
#: How long a cold start may take before the request fails.
COLD_START_TIMEOUT = 180.0


def throttled(variant: str, limit: int) -> ApiError:
    log.info("serverless variant %s throttled a request: %d already running", variant, limit)
    return ApiError("ThrottlingException", None)


class Gate:
    """The serverless front of one fleet."""

    def __init__(self, fleet: Fleet, config: dict[str, Any]) -> None:
        self.fleet = fleet
        self.max_concurrency = int(config.get("MaxConcurrency") or 1)
        self.provisioned = int(config.get("ProvisionedConcurrency") or 0)
        self.memory_mb = int(config.get("MemorySizeInMB") or 0)
        self.in_flight = 0
        self.last_used = time.monotonic()
        self.cold_starts = 0
        self._starting = asyncio.Lock()
        self._idle: asyncio.Task[None] | None = None
        if not self.provisioned:
            self._idle = asyncio.get_running_loop().create_task(self._scale_to_zero_when_idle())

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        target_model: str | None = None,
    ) -> InvokeResultLike:
        if self.in_flight >= self.max_concurrency:
            raise throttled(self.fleet.variant, self.max_concurrency)
        self.in_flight += 1
        try:
            if not self.fleet.serving:
                await self._cold_start()
            return await self.fleet.invoke(body, content_type, accept, custom_attributes, target_model)
        finally:
            self.in_flight -= 1
            self.last_used = time.monotonic()

    async def _cold_start(self) -> None:
        async with self._starting:
            if self.fleet.size == 0:
                log.info("serverless variant %s: cold start", self.fleet.variant)
                self.cold_starts += 1
                await self.fleet.grow(1, COLD_START_TIMEOUT)

    async def _scale_to_zero_when_idle(self) -> None:
        while True:
            idle = IDLE_SECONDS * time_scale()
            await asyncio.sleep(max(0.05, idle / 4))
            quiet = time.monotonic() - self.last_used
            if self.fleet.size and not self.in_flight and not self._starting.locked() and quiet >= idle:
                log.info("serverless variant %s: idle for %.1f s, scaling to zero", self.fleet.variant, quiet)
                await self.fleet.shrink(self.fleet.size)

    async def stop(self) -> None:
        task, self._idle = self._idle, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

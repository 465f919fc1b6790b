"""The services beyond SageMaker, wired to the endpoints they watch and scale.

One metric store takes what the invocation gateway publishes; CloudWatch reads
it and evaluates alarms on it; Application Auto Scaling acts on those alarms by
resizing endpoint variants; auto-rollback reads the alarms' states; an
UpdateEndpoint that would change the instance type of (or remove) a scaled
variant is refused, and DeleteEndpoint deregisters the endpoint's targets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from typing import Any

from providers.local.autoscaling.api import AutoScaling
from providers.local.autoscaling.resources import VARIANT, Scalable, Variants
from providers.local.autoscaling.scaler import Scaler
from providers.local.autoscaling.state import Targets
from providers.local.cloudwatch.alarms import Alarms
from providers.local.cloudwatch.api import CloudWatch
from providers.local.deployment import Snapshot
from providers.local.errors import validation
from providers.local.lifecycle import Endpoints
from providers.local.metrics import Metrics, MetricStore
from providers.local.protocols import Dispatcher
from providers.local.settings import time_scale


class AwsServices:
    """CloudWatch and Application Auto Scaling (and their background work) for one server."""

    def __init__(self, endpoints: Endpoints, scalables: dict[str, Scalable] | None = None) -> None:
        self.endpoints = endpoints
        self.store = MetricStore()
        self.metrics = Metrics(self.store)
        self.alarms = Alarms(self.store)
        resources: dict[str, Scalable] = {VARIANT: Variants(endpoints), **(scalables or {})}
        self.targets = Targets(resources)
        self.autoscaling = AutoScaling(self.targets, Scaler(self.targets, self.alarms))
        cloudwatch = CloudWatch(self.alarms).service()
        self.dispatcher = Dispatcher([cloudwatch, self.autoscaling.service()])
        self._tasks: list[asyncio.Task[None]] = []
        endpoints.alarm_check = self.firing
        endpoints.update_check = self.check_update
        endpoints.on_delete = self.deleted

    def firing(self, names: Sequence[str]) -> str | None:
        """The first of the alarms `names` that is in ALARM, if any."""
        return next((name for name in names if self.alarms.state(name) == "ALARM"), None)

    def check_update(self, name: str, old: Snapshot, new: Snapshot) -> None:
        """Refuse an update that changes the instance type of, or removes, a scaled variant."""
        prefix = f"endpoint/{name}/variant/"
        scaled = [key[1][len(prefix) :] for key in self.targets.keys_of(prefix)]
        before = {v["VariantName"]: v.get("InstanceType") for v in old["config"]["ProductionVariants"]}
        after = {v["VariantName"]: v.get("InstanceType") for v in new["config"]["ProductionVariants"]}
        blocked = sorted(v for v in scaled if v not in after or after[v] != before.get(v))
        if blocked:
            raise validation(
                f"The variant(s) \"[{', '.join(blocked)}]\" of endpoint \"{name}\" are registered as scalable "
                "targets with Application Auto Scaling; their instance type cannot be changed and they cannot "
                "be removed. Deregister the scalable target(s) (DeregisterScalableTarget), update the endpoint, "
                "then register them again."
            )

    def deleted(self, name: str) -> None:
        """DeleteEndpoint: Application Auto Scaling deregisters the endpoint's variants."""
        self.autoscaling.deregister_resource(f"endpoint/{name}/variant/")

    def start(self) -> None:
        self._spawn(self.alarms.run(), "alarms")
        self._spawn(self.autoscaling.run(), "autoscaling")
        self._spawn(self.publish_idle(), "idle-metrics")

    async def publish_idle(self) -> None:
        """Every half minute (scaled), a zero for each serving variant that had no invocation
        in it, as SageMaker publishes for idle endpoints (so that scale-in sees the quiet):
        every one-minute period then has a data point."""
        half = max(30.0 * time_scale(), 0.05)
        while True:
            await asyncio.sleep(half)
            for key, router in list(self.endpoints.routers.items()):
                record = self.endpoints.record(key)
                if record is None:
                    continue
                endpoint = record["describe"]["EndpointName"]
                for variant, fleet in router.active.fleets.items():
                    if fleet.serving:
                        self.metrics.idle(endpoint, variant, half)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(job, name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()


"""The services beyond SageMaker, wired to the endpoints they watch and scale.

One metric store takes what the invocation gateway publishes; CloudWatch reads
it and evaluates alarms on it; Application Auto Scaling acts on those alarms by
resizing endpoint variants and inference components' copy counts; auto-rollback
reads the alarms' states; an UpdateEndpoint that would change the instance type
of (or remove) a scaled variant is refused, and DeleteEndpoint (and
DeleteInferenceComponent) deregisters the object's targets.

Alarms and the Application Auto Scaling records (targets, policies, scheduled
actions, tags) are written to `<home>/services.json` after every call that
changes them, and read back when the server starts; metric data, alarm
evaluation history and scaling activities are not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from providers.local.autoscaling.api import AutoScaling
from providers.local.autoscaling.copies import COPY_COUNT, PREFIX as COMPONENT_PREFIX, Copies
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
from providers.local.registry import write_json_atomic
from providers.local.services import Handler, Params, Service
from providers.local.settings import time_scale

log = logging.getLogger("smstate.local")

#: Operations that change nothing: no save after them.
READS = ("Describe", "List", "Get")


class AwsServices:
    """CloudWatch and Application Auto Scaling (and their background work) for one server."""

    def __init__(
        self, endpoints: Endpoints, home: Path | None = None, scalables: dict[str, Scalable] | None = None
    ) -> None:
        self.endpoints = endpoints
        self.path = home / "services.json" if home is not None else None
        self.store = MetricStore()
        self.metrics = Metrics(self.store)
        self.alarms = Alarms(self.store)
        resources: dict[str, Scalable] = {
            VARIANT: Variants(endpoints), COPY_COUNT: Copies(endpoints.components), **(scalables or {})
        }
        self.targets = Targets(resources)
        self.autoscaling = AutoScaling(self.targets, Scaler(self.targets, self.alarms))
        services = [CloudWatch(self.alarms).service(), self.autoscaling.service()]
        self.dispatcher = Dispatcher([self._saving(service) for service in services])
        self._tasks: list[asyncio.Task[None]] = []
        endpoints.alarm_check = self.firing
        endpoints.update_check = self.check_update
        endpoints.on_delete = self.deleted
        endpoints.components.on_delete = self.component_deleted

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
        self.save()

    def component_deleted(self, name: str) -> None:
        """DeleteInferenceComponent: Application Auto Scaling deregisters its copy count."""
        self.autoscaling.deregister_resource(f"{COMPONENT_PREFIX}{name}", exact=True)
        self.save()

    def _saving(self, service: Service) -> Service:
        """`service` with a save after each operation that changes something."""

        def saving(handler: Handler) -> Handler:
            async def run(params: Params) -> dict[str, Any]:
                result = await handler(params)
                self.save()
                return result

            return run

        operations = {name: h if name.startswith(READS) else saving(h) for name, h in service.operations.items()}
        return Service(service.name, operations)

    def save(self) -> None:
        if self.path is None:
            return
        targets = self.targets
        payload = {
            "alarms": list(self.alarms.alarms.values()),
            "alarm_tags": self.alarms.tags,
            "targets": list(targets.targets.values()),
            "policies": [p for named in targets.policies.values() for p in named.values()],
            "scheduled": [a for named in targets.scheduled.values() for a in named.values()],
            "target_tags": targets.tags,
        }
        try:
            write_json_atomic(self.path, payload)
        except OSError as exc:
            log.warning("could not save alarms and scaling targets to %s: %s", self.path, exc)

    def load(self) -> None:
        """Read back what `save` wrote (nothing if there is no file or it is unreadable)."""
        if self.path is None or not self.path.exists():
            return
        try:
            payload = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("could not read %s: %s", self.path, exc)
            return
        now = time.time()
        for alarm in payload.get("alarms", []):
            self.alarms.restore(alarm, now)
        self.alarms.tags.update(payload.get("alarm_tags", {}))
        for target in payload.get("targets", []):
            self.targets.targets[_key(target)] = target
        for policy in payload.get("policies", []):
            self.targets.policies.setdefault(_key(policy), {})[policy["PolicyName"]] = policy
        for action in payload.get("scheduled", []):
            self.autoscaling.restore_scheduled(_key(action), action, now)
        self.targets.tags.update(payload.get("target_tags", {}))

    def start(self) -> None:
        self.load()
        self._spawn(self.alarms.run(), "alarms")
        self._spawn(self.autoscaling.run(), "autoscaling")
        self._spawn(self.publish_idle(), "idle-metrics")

    async def publish_idle(self) -> None:
        """Every half minute (scaled), a zero for each serving variant and inference component
        that had no invocation in it, as SageMaker publishes for idle endpoints (so that
        scale-in sees the quiet): every one-minute period then has a data point."""
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
            for name in list(self.endpoints.components.hosted):
                if self.endpoints.components.copies(name):
                    self.metrics.idle_component(self._component_name(name), half)

    def _component_name(self, key: str) -> str:
        record = self.endpoints.components.record(key)
        return str(record["describe"]["InferenceComponentName"]) if record else key

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(job, name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()



def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    return record["ServiceNamespace"], record["ResourceId"], record["ScalableDimension"]

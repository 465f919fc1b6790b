"""Inference components brought to life: their copies, their placement, their traffic.

A component's record says what it should be; this module makes the copies match
and moves `InferenceComponentStatus` only on facts:

- `Creating` -> `InService` once every copy answers `/ping`; -> `Failed` (with
  `FailureReason`, copies stopped) otherwise;
- a copy-count change keeps the status `Updating` while copies start or drain;
- `Deleting` -> gone once its copies have drained and stopped.

Each copy is a model-server worker (a `Fleet` slot) reserving its CPU cores and
memory on one of the endpoint variant's instances (`placement`); copies that do
not fit are refused, or, with managed instance scaling, add instances up to its
maximum. A request naming the component goes to one of its copies: the one with
the fewest requests in flight when the endpoint's `RoutingConfig` says
`LEAST_OUTSTANDING_REQUESTS`, else one at random. Spec updates roll in batches
(`component_updates`). `set_copy_count` is the hook Application Auto Scaling uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.local import placement
from providers.local.errors import ApiError, validation
from providers.local.fleet import Fleet
from providers.local.hosting.limits import variant_memory
from providers.local.registry import Record, Table, key_of
from providers.local.tracked import Tracked

if TYPE_CHECKING:
    from providers.local.lifecycle import Endpoints

log = logging.getLogger("smstate.local")

DEFAULT_STARTUP_TIMEOUT = 180.0
LEAST_OUTSTANDING = "LEAST_OUTSTANDING_REQUESTS"


@dataclass
class Hosted:
    """The live copies of one component: those serving now, and during an update the new ones."""

    fleet: Fleet
    incoming: Fleet | None = None

    def fleets(self) -> list[Fleet]:
        return [f for f in (self.fleet, self.incoming) if f is not None and f.serving]


def copy_model(record: Record) -> dict[str, Any]:
    """What each copy runs, DescribeModel-shaped: the named model, or the spec's own container."""
    return dict(record["model"])


def startup_timeout(specification: dict[str, Any]) -> float:
    startup = specification.get("StartupParameters") or {}
    return float(startup.get("ContainerStartupHealthCheckTimeoutInSeconds") or DEFAULT_STARTUP_TIMEOUT)


class Components(Tracked):
    """The live side of every inference component."""

    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__(endpoints.registry, Table.INFERENCE_COMPONENT, "inference component")
        self.endpoints = endpoints
        self.hosted: dict[str, Hosted] = {}
        self.instances: dict[tuple[str, str], int] = {}
        """(endpoint key, variant) -> instances now, where managed instance scaling moved them."""
        #: Told the name of a component being deleted.
        self.on_delete: Callable[[str], None] = lambda name: None

    # -- bookkeeping -------------------------------------------------------

    def on_endpoint(self, endpoint: str) -> list[Record]:
        key = key_of(endpoint)
        return [r for r in self.registry.values(Table.INFERENCE_COMPONENT) if key_of(r["describe"]["EndpointName"]) == key]

    def copies(self, name: str) -> int:
        """The copies serving now (old and new during an update)."""
        hosted = self.hosted.get(key_of(name))
        return sum(f.serving for f in hosted.fleets()) if hosted else 0

    def instance_count(self, endpoint: str, variant: str) -> int:
        """The instances a component-hosting variant has now."""
        found = self.instances.get((key_of(endpoint), variant))
        return found if found is not None else int(self.variant_config(endpoint, variant)["InitialInstanceCount"])

    def new_fleet(self, record: Record, specification: dict[str, Any], model: dict[str, Any]) -> Fleet:
        """An empty fleet of copies of `model`, each bounded by the memory the spec allows."""
        describe = record["describe"]
        variant = self.variant_config(describe["EndpointName"], describe["VariantName"])
        compute = specification.get("ComputeResourceRequirements") or {}
        limit = compute.get("MaxMemoryRequiredInMb")
        memory = int(limit) * 1024**2 if limit else variant_memory(variant)
        workdir = Path(self.endpoints.workdir) / key_of(describe["EndpointName"]) / "components"
        fleet = Fleet(describe["InferenceComponentName"], model, workdir, self.endpoints.starter, memory=memory)
        fleet.variant_header = describe["VariantName"].encode()  # the variant answers, as SageMaker reports
        fleet.least_outstanding = self.routing(describe["EndpointName"], describe["VariantName"]) == LEAST_OUTSTANDING
        return fleet

    def variant_config(self, endpoint: str, variant: str) -> dict[str, Any]:
        record = self.endpoints.record(endpoint)
        assert record is not None
        variants = record["deployed"]["config"]["ProductionVariants"]
        return next(v for v in variants if v["VariantName"] == variant)

    def routing(self, endpoint: str, variant: str) -> str | None:
        routing: str | None = (self.variant_config(endpoint, variant).get("RoutingConfig") or {}).get("RoutingStrategy")
        return routing

    # -- placement ---------------------------------------------------------

    def reserve(self, record: Record, needs: list[placement.Resources]) -> None:
        """Make room for `needs` next to every other copy on the component's variant, or refuse.

        Managed instance scaling adds instances up to its maximum (and gives back those no
        longer needed, down to its minimum); without it the variant keeps its instance count.
        """
        describe = record["describe"]
        endpoint, variant_name = describe["EndpointName"], describe["VariantName"]
        variant = self.variant_config(endpoint, variant_name)
        others = [
            n
            for r in self.on_endpoint(endpoint)
            if r["describe"]["VariantName"] == variant_name and r is not record and r["describe"]["InferenceComponentStatus"] != "Deleting"
            for n in self.needs(r)
        ]
        scaling = variant.get("ManagedInstanceScaling") or {}
        initial = int(variant["InitialInstanceCount"])
        managed = scaling.get("Status") == "ENABLED"
        lowest = int(scaling.get("MinInstanceCount") or 1) if managed else initial
        highest = int(scaling.get("MaxInstanceCount") or initial) if managed else initial
        room = placement.capacity(str(variant.get("InstanceType")))
        count = placement.instances_needed(room, others + needs, lowest, highest)
        if count is None:
            wanted = needs[0] if needs else placement.Resources(0, 0)
            raise validation(
                f"Insufficient capacity on endpoint {endpoint} variant {variant_name} "
                f"({highest} x {variant.get('InstanceType')}) for {len(needs)} copies of inference component "
                f"{describe['InferenceComponentName']} needing {wanted.cpus:g} CPU cores and "
                f"{wanted.memory_mb} MB of memory each."
            )
        self.instances[(key_of(endpoint), variant_name)] = count

    def needs(self, record: Record, copies: int | None = None) -> list[placement.Resources]:
        """The reservations of a component's copies (and of a rolling update's new ones)."""
        describe = record["describe"]
        count = describe["RuntimeConfig"]["DesiredCopyCount"] if copies is None else copies
        out = [placement.need_of(record["specification"])] * int(count)
        pending = record.get("pending")
        if pending is not None and copies is None:
            out += [placement.need_of(pending["specification"])] * int(pending["batch"])
        return out

    def fill_variants(self, endpoint: str, described: dict[str, Any]) -> None:
        """DescribeEndpoint: the instance count of each variant that hosts components."""
        for summary in described.get("ProductionVariants") or []:
            config = self.variant_config(endpoint, summary["VariantName"])
            if config.get("ModelName"):
                continue
            count = self.instance_count(endpoint, summary["VariantName"])
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count

    # -- create, scale, delete ---------------------------------------------

    def begin_create(self, name: str) -> None:
        self.run(name, self._create(name))

    async def _create(self, name: str) -> None:
        record = self.record(name)
        assert record is not None
        fleet = self.new_fleet(record, record["specification"], copy_model(record))
        self.hosted[key_of(name)] = Hosted(fleet)
        count = int(record["describe"]["RuntimeConfig"]["DesiredCopyCount"])
        try:
            await fleet.grow(count, startup_timeout(record["specification"]))
        except Exception as exc:
            await fleet.stop()
            self.hosted.pop(key_of(name), None)
            log.warning("inference component %s failed: %s", name, exc)
            self.save(name, record, InferenceComponentStatus="Failed", FailureReason=f"The copies failed to start: {exc}")
            return
        self.save(name, record, InferenceComponentStatus="InService", FailureReason=None)
        log.info("inference component %s is InService with %d copies", name, count)

    def set_copy_count(self, name: str, copies: int) -> None:
        """Move a component to `copies` copies (UpdateInferenceComponentRuntimeConfig, or
        Application Auto Scaling's DesiredCopyCount); refused when they cannot be placed."""
        record = self.record(name)
        if record is None or key_of(name) not in self.hosted:
            raise validation(f"Inference component {name} is not in service.")
        status = record["describe"]["InferenceComponentStatus"]
        if status != "InService" or self.busy(name):
            raise validation(f"Cannot update inference component {name} while it is {status}.")
        self.reserve(record, self.needs(record, copies))
        record["describe"]["RuntimeConfig"]["DesiredCopyCount"] = copies
        self.save(name, record, InferenceComponentStatus="Updating")
        self.run(name, self._resize(name, copies))

    async def _resize(self, name: str, copies: int) -> None:
        record = self.record(name)
        hosted = self.hosted.get(key_of(name))
        assert record is not None and hosted is not None
        fleet = hosted.fleet
        try:
            if copies > fleet.size:
                await fleet.grow(copies - fleet.size, startup_timeout(record["specification"]))
            else:
                await fleet.shrink(fleet.size - copies)
        except Exception as exc:
            log.warning("inference component %s: copies failed to start: %s", name, exc)
            record["describe"]["RuntimeConfig"]["DesiredCopyCount"] = fleet.size
            self.reserve(record, self.needs(record))
            self.save(name, record, InferenceComponentStatus="InService", FailureReason=f"New copies failed to start: {exc}")
            return
        self.reserve(record, self.needs(record))  # managed scaling gives back what is no longer needed
        self.save(name, record, InferenceComponentStatus="InService", FailureReason=None)

    async def begin_delete(self, name: str) -> None:
        record = self.record(name)
        assert record is not None
        self.save(name, record, InferenceComponentStatus="Deleting")
        self.on_delete(record["describe"]["InferenceComponentName"])
        await self.cancel(name)
        self.run(name, self._delete(name))

    async def _delete(self, name: str) -> None:
        key = key_of(name)
        hosted = self.hosted.pop(key, None)
        if hosted is not None:
            await asyncio.gather(*(f.stop() for f in (hosted.fleet, hosted.incoming) if f is not None))
        record = self.record(name)
        self.registry.delete(Table.INFERENCE_COMPONENT, key)
        if record is not None:
            with contextlib.suppress(StopIteration, AssertionError):
                self.reserve(record, [])  # managed scaling gives the instances back
        log.info("inference component %s deleted", name)

    # -- traffic -----------------------------------------------------------

    def pick(self, name: str) -> Fleet | None:
        """The fleet one request goes to: among the live copies, old and new during an update."""
        hosted = self.hosted.get(key_of(name))
        if hosted is None:
            return None
        fleets = hosted.fleets()
        if len(fleets) <= 1:
            return fleets[0] if fleets else None
        if fleets[0].least_outstanding:
            fewest = {f: min(s.in_flight for s in f.slots) for f in fleets}
            return random.choice([f for f in fleets if fewest[f] == min(fewest.values())])
        return random.choices(fleets, weights=[f.serving for f in fleets])[0]

    # -- restart, shutdown -------------------------------------------------

    def restore(self) -> None:
        """Host again the components the registry says were serving; finish deletions."""
        for _, record in self.registry.items(Table.INFERENCE_COMPONENT):
            name = record["describe"]["InferenceComponentName"]
            status = record["describe"]["InferenceComponentStatus"]
            if status == "Deleting":
                self.run(name, self._delete(name))
            elif status != "Failed":
                if record.pop("pending", None) is not None:
                    record["describe"]["FailureReason"] = (
                        "The update was interrupted by a restart of the local server; it was rolled back."
                    )
                with contextlib.suppress(ApiError):  # managed scaling's instances, as they were
                    self.reserve(record, self.needs(record))
                self.save(name, record, InferenceComponentStatus="Creating")
                self.run(name, self._create(name))

    async def shutdown(self) -> None:
        await self.stop_tasks()
        fleets = [f for h in self.hosted.values() for f in (h.fleet, h.incoming) if f is not None]
        self.hosted.clear()
        await asyncio.gather(*(f.stop() for f in fleets), return_exceptions=True)

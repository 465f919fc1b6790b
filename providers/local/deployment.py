"""A deployment: one endpoint config brought to life, a fleet per variant.

A deployment keeps its own copy of the endpoint config and of the models it
names (the *snapshot*), taken when the endpoint was created or updated: SageMaker
lets a live endpoint's config and models be deleted, and the endpoint keeps
serving what it was given.

Traffic inside a deployment splits by the variants' current weights, among the
variants that have at least one instance in service; when every weight is zero,
the live variants share traffic equally rather than refusing it. Each instance
gets the memory of its variant's instance type (or `MemorySizeInMB`); a
serverless variant is served through its `serverless.Gate`.
"""

from __future__ import annotations

import asyncio
import bisect
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from providers.local.fleet import Fleet, Starter
from providers.local.hosting.limits import variant_memory
from providers.local.serverless import Gate

Snapshot = dict[str, Any]


def variant_count(variant: dict[str, Any]) -> int:
    """Instances a variant asks for: serverless variants get one."""
    return int(variant.get("InitialInstanceCount") or 1)


class Deployment:
    """The fleets of one endpoint config, and the weighted choice among them."""

    def __init__(
        self,
        snapshot: Snapshot,
        workdir: Path,
        starter: Starter,
        weights: dict[str, float],
        counts: dict[str, int],
    ) -> None:
        self.snapshot = snapshot
        self.config_name: str = snapshot["config"]["EndpointConfigName"]
        self.weights = dict(weights)
        self.fleets: dict[str, Fleet] = {}
        for variant in snapshot["config"]["ProductionVariants"]:
            name = variant["VariantName"]
            if not variant.get("ModelName"):
                continue  # its instances host inference components (components.py), not a model
            model = snapshot["models"][variant["ModelName"]]
            self.fleets[name] = Fleet(name, model, workdir, starter, self._reroute, variant_memory(variant))
            if variant.get("ServerlessConfig"):
                self.fleets[name].gate = Gate(self.fleets[name], variant["ServerlessConfig"])
        self.counts = {name: count for name, count in counts.items() if name in self.fleets}
        #: Shadow variants: fleets of their own that take copies of the traffic (`traffic`), never routes.
        self.shadows: dict[str, Fleet] = {}
        self.shadow_counts: dict[str, int] = {}
        for variant in snapshot["config"].get("ShadowProductionVariants") or []:
            name = variant["VariantName"]
            model = snapshot["models"][variant["ModelName"]]
            self.shadows[name] = Fleet(name, model, workdir, starter, memory=variant_memory(variant))
            self.shadow_counts[name] = variant_count(variant)
        #: Called when the deployment stops (data capture writes what it still buffers).
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self._routes: list[Fleet] = []
        self._bounds: list[float] = []
        self._total = 0.0

    @property
    def live(self) -> bool:
        return bool(self._routes)

    @property
    def size(self) -> int:
        return sum(fleet.size for fleet in self.fleets.values())

    @property
    def target_size(self) -> int:
        return sum(self.counts.values())

    def healthy(self) -> bool:
        return all(fleet.healthy() for fleet in self.fleets.values())

    def choose(self) -> Fleet:
        """A fleet picked by weight (the deployment is live)."""
        routes = self._routes
        if len(routes) == 1:
            return routes[0]
        index = bisect.bisect_right(self._bounds, random.random() * self._total)
        return routes[min(index, len(routes) - 1)]

    def variant(self, name: str) -> Fleet | None:
        fleet = self.fleets.get(name)
        return fleet if fleet is not None and _routable(fleet) else None

    def set_weight(self, variant: str, weight: float) -> None:
        self.weights[variant] = weight
        self._reroute()

    async def start(self, timeout: float) -> None:
        """Bring every variant to its instance count, or stop all and raise."""
        await self.resize(dict(self.counts), timeout)

    async def resize(self, counts: dict[str, int], timeout: float) -> None:
        """Grow or shrink variants to `counts`; a failed start stops the whole
        deployment, since a partial one must not take traffic."""
        grows = [
            self.fleets[name].grow(count - self.fleets[name].size, timeout)
            for name, count in counts.items()
            if count > self.fleets[name].size
        ]
        shrinks = [
            self.fleets[name].shrink(self.fleets[name].size - count)
            for name, count in counts.items()
            if count < self.fleets[name].size
        ]
        if any(counts.values()):  # shadows start with the deployment's first instances
            grows += [f.grow(self.shadow_counts[n], timeout) for n, f in self.shadows.items() if not f.size]
        results = await asyncio.gather(*grows, *shrinks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def stop(self) -> None:
        fleets = [*self.fleets.values(), *self.shadows.values()]
        await asyncio.gather(*(f.gate.stop() for f in fleets if f.gate is not None))
        await asyncio.gather(*(fleet.stop() for fleet in fleets))
        for hook in self.on_stop:
            await hook()

    def _reroute(self) -> None:
        live = [f for f in self.fleets.values() if _routable(f)]
        weights = [max(self.weights.get(f.variant, 1.0), 0.0) for f in live]
        if live and not any(weights):
            weights = [1.0] * len(live)
        routes, bounds, total = [], [], 0.0
        for fleet, weight in zip(live, weights):
            if weight > 0:
                total += weight
                routes.append(fleet)
                bounds.append(total)
        self._routes, self._bounds, self._total = routes, bounds, total


def _routable(fleet: Fleet) -> bool:
    """Whether requests may go to `fleet`: it serves, or it is a serverless variant
    scaled to zero (a request starts it)."""
    return bool(fleet.serving) or (fleet.gate is not None and fleet.size == 0)

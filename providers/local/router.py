"""Where an endpoint's next request goes.

An endpoint serves from its *active* deployment; during a rollout an *incoming*
deployment takes a growing `share` of the traffic (0 = none, 1 = all). A request
that names a target variant goes to that variant in the deployment the share
picked, or in the other one if only that one has it. A deployment with no live
instance (a rolling update's last old batch just stopped) never receives traffic
while the other one can take it.
"""

from __future__ import annotations

import random

from providers.local.deployment import Deployment
from providers.local.fleet import Fleet


class Router:
    """The traffic split of one endpoint between its deployments."""

    __slots__ = ("active", "incoming", "share")

    def __init__(self, active: Deployment) -> None:
        self.active = active
        self.incoming: Deployment | None = None
        self.share = 0.0

    def deployments(self) -> list[Deployment]:
        return [d for d in (self.active, self.incoming) if d is not None]

    def select(self, target_variant: str | None) -> Fleet | None:
        """The fleet for one request, or None when nothing can serve it."""
        first, second = self.active, self.incoming
        if second is not None and (self.share >= 1.0 or random.random() < self.share):
            first, second = second, first
        if target_variant is None:
            if first.live:
                return first.choose()
            if second is not None and second.live:
                return second.choose()
            return None
        fleet = first.variant(target_variant)
        if fleet is None and second is not None:
            fleet = second.variant(target_variant)
        return fleet

    def knows_variant(self, name: str) -> bool:
        return any(name in d.fleets for d in self.deployments())

"""Endpoint updates and rollback detection.

SageMaker is believed only through reads: an endpoint update is a success only when
DescribeEndpoint shows the new config InService. An update that ends elsewhere (rolled back
to the old config, or Failed) is recorded as SageMaker left it, and reported with the reason
and the stages it went through, so the next plan offers the update again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import shapes
from .changes import Change
from .errors import ProviderError
from .evaluate import Desired
from .provider import Live, Progress, Provider
from .resources import Kind
from .state import ObjectState

READY_STATES = ("InService",)
BUSY_STATES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")

Report = Callable[[Progress], None]
Record = Callable[[Change, Desired, Live, str], None]
"""Records an object in the state: (change, desired, live, status)."""


class Endpoints:
    """Waits for endpoints and moves them to a new config."""

    def __init__(self, provider: Provider, timeout: float | None, default_timeout: float) -> None:
        self.provider = provider
        self.timeout = timeout
        self.default_timeout = default_timeout

    def wait_ready(self, change: Change, kind: Kind, name: str, desired: Desired | None, report: Report) -> Live:
        live = self.provider.wait(kind, name, "ready", self.budget(desired), report)
        if live is None:
            raise ProviderError(f"{change.address}: endpoint {name} disappeared while being created")
        return live

    def update(self, change: Change, desired: Desired, prior: ObjectState, report: Report, record: Record) -> Live:
        """Move the endpoint to the desired config; the endpoint as it is once it serves from it."""
        kind, name = desired.kind, prior.id
        live = self.provider.read(kind, name)
        if live is None:
            raise ProviderError(f"{change.address}: endpoint {name} no longer exists")
        if live.status in BUSY_STATES:
            live = self.wait_ready(change, kind, name, desired, report)
        wanted = desired.spec.get("endpoint_config_name")
        if live.description.get("EndpointConfigName") == wanted:
            return live
        old = live.description.get("EndpointConfigName")
        try:
            self.provider.update(kind, name, {"EndpointConfigName": wanted, **_update_settings(desired, change.settings)})
        except ProviderError as error:
            self._update_under_way(kind, name, wanted, error)
        history: list[str] = []

        def remember(progress: Progress) -> None:
            history[:] = list(progress.history) or history
            report(progress)

        live = self.provider.wait(kind, name, "ready", self.budget(desired), remember)
        if live is None:
            raise ProviderError(f"{change.address}: endpoint {name} disappeared during the update")
        if live.status in READY_STATES and live.description.get("EndpointConfigName") == wanted:
            return live
        raise self._failed(change, desired, live, (name, old), history, record)

    def _failed(
        self, change: Change, desired: Desired, live: Live, before: tuple[str, Any], history: list[str], record: Record
    ) -> ProviderError:
        """Record the endpoint on the config SageMaker left it on; the error that says what happened."""
        name, old = before
        now = live.description.get("EndpointConfigName")
        rolled_back = replace(desired, spec={**desired.spec, "endpoint_config_name": now})
        record(change, rolled_back, live, "ready" if live.status in READY_STATES else "tainted")
        stages = ("\n  stages: " + " -> ".join(history)) if history else ""
        what = f"rolled back to {now}" if now == old else f"ended {live.status} on {now}"
        return ProviderError(
            f"{change.address}: the update of endpoint {name} to "
            f"{desired.spec.get('endpoint_config_name')} failed and SageMaker {what}: "
            f"{live.failure_reason or 'no reason given'}{stages}"
        )

    def _update_under_way(self, kind: Kind, name: str, wanted: Any, error: ProviderError) -> None:
        """After a failed UpdateEndpoint, go on if the update to `wanted` started after all; else the failure stands.

        As with a Create, the answer can be lost after the API did the work, and botocore's retry
        then finds the endpoint busy with that very update.
        """
        try:
            live = self.provider.read(kind, name)
        except ProviderError:
            live = None
        if live is None:
            raise error
        pending = (live.description.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if (pending if live.status in BUSY_STATES else live.description.get("EndpointConfigName")) != wanted:
            raise error

    def delete(self, kind: Kind, name: str, report: Report) -> None:
        """Delete an endpoint once it is not busy, and wait until it is gone."""
        live = self.provider.read(kind, name)
        if live is not None and live.status in BUSY_STATES and live.status != "Deleting":
            self.provider.wait(kind, name, "ready", self.budget(None), report)
        if live is not None and live.status != "Deleting":
            self.provider.delete(kind, name)
        self.provider.wait(kind, name, "deleted", self.budget(None), report)

    def budget(self, desired: Desired | None) -> float:
        """How long to wait: --timeout, else the blue/green policy's own limits plus a margin, else the provider's."""
        if self.timeout is not None:
            return self.timeout
        policy = (desired.spec.get("deployment_config") or {}) if desired else {}
        blue_green = policy.get("blue_green_update_policy") or {}
        limit = blue_green.get("maximum_execution_timeout_in_seconds")
        if limit:
            return float(limit) + float(blue_green.get("termination_wait_in_seconds", 0)) + 600.0
        return self.default_timeout


def _update_settings(desired: Desired, planned: dict[str, Any]) -> dict[str, Any]:
    """The UpdateEndpoint settings (deployment config, ...) the config declares, and those the plan adds."""
    update_shape = shapes.input_shape("UpdateEndpoint")
    fields = {**planned, **{k: v for k, v in desired.spec.items() if k in desired.kind.settings}}
    converted: dict[str, Any] = shapes.to_request(update_shape, fields)
    return converted

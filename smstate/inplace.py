"""In-place updates that roll out in SageMaker (an inference component's new specification).

The changed mutable fields go through the lightest call that covers them all (a copy count
alone: UpdateInferenceComponentRuntimeConfig), else through the kind's update with its
deployment settings (UpdateInferenceComponent, which rolls the copies in batches). The
update is followed to its end and believed only from the description: when SageMaker
rolled it back, the object is recorded as it is live, the reason is reported, and the
next plan offers the update again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import shapes
from .changes import Change
from .diff import ignored
from .errors import ProviderError
from .evaluate import Desired
from .live import attributes
from .provider import Live, Progress, Provider
from .resources import Kind
from .state import ObjectState

Report = Callable[[Progress], None]
Record = Callable[[Change, Desired, Live, str], None]


class InPlace:
    """Changes an object through its own update calls and follows the rollout to the end."""

    def __init__(self, provider: Provider, timeout: float | None, default_timeout: float) -> None:
        self.provider = provider
        self.timeout = timeout
        self.default_timeout = default_timeout

    def update(self, change: Change, desired: Desired, prior: ObjectState, report: Report, record: Record) -> Live:
        kind, object_id = desired.kind, prior.id
        live = self._settled(change, kind, object_id, desired, report)
        now = attributes(kind, live)
        desired = replace(desired, spec=_kept(desired, now))
        changed = [f for f in sorted(kind.mutable) if desired.spec.get(f) is not None and desired.spec.get(f) != now.get(f)]
        if not changed:
            return live
        operation, request = _request(kind, desired, changed)
        self.provider.update(kind, object_id, request, operation)
        history: list[str] = []

        def remember(progress: Progress) -> None:
            history[:] = list(progress.history) or history
            report(progress)

        live = self._wait(change, kind, object_id, desired, remember)
        now = attributes(kind, live)
        done = kind.statuses is not None and live.status in kind.statuses.done
        if done and all(desired.spec.get(f) == now.get(f) for f in changed):
            return live
        kept = replace(desired, spec={**desired.spec, **{f: now.get(f) for f in changed}})
        record(change, kept, live, "ready" if done else "tainted")
        stages = ("\n  stages: " + " -> ".join(history)) if history else ""
        what = "rolled it back" if done else f"left it {live.status}"
        raise ProviderError(
            f"{change.address}: the update of {kind.state_type.replace('_', ' ')} {object_id} "
            f"({', '.join(changed)}) failed and SageMaker {what}: {live.failure_reason or 'no reason given'}{stages}"
        )

    def _settled(self, change: Change, kind: Kind, object_id: str, desired: Desired, report: Report) -> Live:
        """The object, once no earlier change of it is still under way."""
        live = self.provider.read(kind, object_id)
        if live is None:
            raise ProviderError(f"{change.address}: {object_id} no longer exists")
        if kind.statuses is not None and live.status in kind.statuses.in_progress:
            live = self._wait(change, kind, object_id, desired, report)
        return live

    def _wait(self, change: Change, kind: Kind, object_id: str, desired: Desired, report: Report) -> Live:
        live = self.provider.wait(kind, object_id, "ready", self.budget(desired), report)
        if live is None:
            raise ProviderError(f"{change.address}: {object_id} disappeared during the update")
        return live

    def budget(self, desired: Desired) -> float:
        """--timeout, else the rolling policy's own limit plus a margin, else the provider's."""
        if self.timeout is not None:
            return self.timeout
        policy = (desired.spec.get("deployment_config") or {}).get("rolling_update_policy") or {}
        limit = policy.get("maximum_execution_timeout_in_seconds")
        return float(limit) + 600.0 if limit else self.default_timeout


def _kept(desired: Desired, now: dict[str, Any]) -> dict[str, Any]:
    """The desired spec with the mutable values `ignore_changes` names taken from the live object,
    so an update never resets them (a copy count Application Auto Scaling moved)."""
    patterns = desired.lifecycle.ignore_changes
    spec = dict(desired.spec)
    for name in desired.kind.mutable:
        live = now.get(name)
        if ignored(name, patterns):
            spec[name] = live
        elif isinstance(spec.get(name), dict) and isinstance(live, dict):
            spec[name] = {**spec[name], **{k: v for k, v in live.items() if ignored(f"{name}.{k}", patterns)}}
    return spec


def _request(kind: Kind, desired: Desired, changed: list[str]) -> tuple[str, dict[str, Any]]:
    """The operation for the changed fields and its request (without the object's id)."""
    for side in kind.side_updates:
        if set(changed) <= set(side.fields):
            converted = {f: shapes.to_request(kind.create_shape, {f: desired.spec[f]}) for f in changed}
            return side.operation, {side.fields[f]: next(iter(c.values())) for f, c in converted.items()}
    assert kind.update is not None, f"{kind.type} declares no update"
    fields = {f: desired.spec[f] for f in sorted(kind.mutable | kind.settings) if desired.spec.get(f) is not None}
    request: dict[str, Any] = shapes.to_request(shapes.input_shape(kind.update), fields)
    return kind.update, request

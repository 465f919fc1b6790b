"""What happens beside an answer: shadow copies and data capture.

Shadow variants (`ShadowProductionVariants`) get a copy of a share of the
production requests: the shadow variant's weight over the production variant's
(SageMaker allows one of each when shadows are used), at most all of them. The
copy is sent after the production answer is in hand, as a task of its own, so
the caller never waits for it and never sees its answer; at most
`MAX_SHADOW_IN_FLIGHT` copies are outstanding per deployment, and a copy beyond
that is dropped (and counted), never queued behind the production path.

Both the production exchange and the shadow's are captured when the endpoint
config asks for data capture (`capture`), each under its own variant.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from dataclasses import dataclass, field

from providers.local.capture import Capture, Exchange
from providers.local.deployment import Deployment
from providers.local.fleet import Fleet
from providers.local.router import Router

log = logging.getLogger("smstate.local")

MAX_SHADOW_IN_FLIGHT = 64


@dataclass
class Extras:
    """A deployment's capture and shadows, set up on its first request."""

    capture: Capture | None
    shares: dict[str, float]
    in_flight: int = 0
    dropped: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def shadow_shares(deployment: Deployment) -> dict[str, float]:
    """Shadow variant -> the share of production requests it gets a copy of."""
    config = deployment.snapshot["config"]
    production = config["ProductionVariants"][0]
    base = float(production.get("InitialVariantWeight", 1.0))
    shares = {}
    for shadow in config.get("ShadowProductionVariants") or []:
        weight = float(shadow.get("InitialVariantWeight", 1.0))
        shares[shadow["VariantName"]] = min(1.0, weight / base) if base > 0 else 1.0
    return shares


class Traffic:
    """The shadow and capture side of every deployment."""

    def __init__(self) -> None:
        self._extras: weakref.WeakKeyDictionary[Deployment, Extras] = weakref.WeakKeyDictionary()

    def extras(self, endpoint: str, deployment: Deployment) -> Extras:
        extras = self._extras.get(deployment)
        if extras is None:
            config = deployment.snapshot["config"].get("DataCaptureConfig")
            capture = Capture(endpoint, config) if config else None
            if capture is not None:
                deployment.on_stop.append(capture.flush)
            extras = self._extras[deployment] = Extras(capture, shadow_shares(deployment))
        return extras

    def after(
        self, endpoint: str, router: Router, fleet: Fleet, exchange: Exchange, accept: str | None,
        custom_attributes: str | None,
    ) -> None:
        """Capture the exchange and send the shadow copies (never waits)."""
        deployment = next((d for d in router.deployments() if d.fleets.get(fleet.variant) is fleet), None)
        if deployment is None:
            return
        extras = self.extras(endpoint, deployment)
        if extras.capture is not None and extras.capture.sampled():
            extras.capture.record(fleet.variant, exchange)
        for name, share in extras.shares.items():
            shadow = deployment.shadows.get(name)
            if shadow is None or not shadow.serving or random.random() >= share:
                continue
            if extras.in_flight >= MAX_SHADOW_IN_FLIGHT:
                extras.dropped += 1
                continue
            extras.in_flight += 1
            task = asyncio.get_running_loop().create_task(
                _mirror(extras, shadow, exchange, accept, custom_attributes)
            )
            extras.tasks.add(task)
            task.add_done_callback(extras.tasks.discard)


async def _mirror(
    extras: Extras, shadow: Fleet, exchange: Exchange, accept: str | None, custom_attributes: str | None
) -> None:
    try:
        result = await shadow.invoke(exchange.body, exchange.content_type, accept, custom_attributes)
    except Exception as exc:  # a shadow's failure is its own: counted by its fleet, never seen by the caller
        log.debug("shadow variant %s failed: %s", shadow.variant, exc)
        return
    finally:
        extras.in_flight -= 1
    if extras.capture is not None and extras.capture.sampled() and 200 <= result.status < 300:
        response = Exchange(
            exchange.body, exchange.content_type, result.body, result.content_type or "", exchange.inference_id
        )
        extras.capture.record(shadow.variant, response)

"""How data capture and shadow variants read in DescribeEndpoint. Pure.

DescribeEndpoint answers the *summary* shapes, not the config's: a
`DataCaptureConfigSummary` (whether capture is on, `CaptureStatus`, the sampling
percentage in force, where it writes) and, for shadow variants, one
`ProductionVariantSummary` each, as for production variants.
"""

from __future__ import annotations

from typing import Any

from providers.local.deployment import Deployment, Snapshot
from providers.local.views import initial_props, variant_summaries


def capture_summary(config: dict[str, Any]) -> dict[str, Any]:
    """DataCaptureConfigSummary of an endpoint config's DataCaptureConfig."""
    enabled = bool(config.get("EnableCapture", True))
    summary: dict[str, Any] = {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": config["InitialSamplingPercentage"],
        "DestinationS3Uri": config["DestinationS3Uri"],
    }
    if config.get("KmsKeyId"):
        summary["KmsKeyId"] = config["KmsKeyId"]
    return summary


def shadow_summaries(snapshot: Snapshot, live: Deployment | None, when: float) -> list[dict[str, Any]]:
    """ShadowProductionVariants of DescribeEndpoint: each shadow fleet as a variant summary."""
    shadows = snapshot["config"].get("ShadowProductionVariants") or []
    as_production: Snapshot = {**snapshot, "config": {**snapshot["config"], "ProductionVariants": shadows}}
    stand_in = _ShadowView(live) if live is not None else None
    return variant_summaries(as_production, initial_props(as_production), stand_in, when)  # type: ignore[arg-type]


def mode_fields(snapshot: Snapshot, live: Deployment | None, when: float) -> dict[str, Any]:
    """The DescribeEndpoint fields of the hosting modes: None removes a field."""
    config = snapshot["config"]
    capture = config.get("DataCaptureConfig")
    shadows = config.get("ShadowProductionVariants")
    return {
        "DataCaptureConfig": capture_summary(capture) if capture else None,
        "ShadowProductionVariants": shadow_summaries(snapshot, live, when) if shadows else None,
    }


class _ShadowView:
    """A deployment seen through its shadow fleets (what `variant_summaries` reads)."""

    def __init__(self, deployment: Deployment) -> None:
        self.fleets = deployment.shadows
        self.weights: dict[str, float] = {}

"""How an endpoint's variants read in DescribeEndpoint. Pure.

SageMaker reports, per production variant, the weights and instance counts it
is moving to (`Desired*`) and those in force (`Current*`), plus the images it
deployed; during an update, `PendingDeploymentSummary` shows the same for the new
config together with the stage the rollout is in.
"""

from __future__ import annotations

from typing import Any

from providers.local.deployment import Deployment, Snapshot, variant_count

#: variant name -> {"DesiredWeight": float, "DesiredInstanceCount": int}
VariantProps = dict[str, dict[str, Any]]


def initial_props(snapshot: Snapshot) -> VariantProps:
    """The weights and counts an endpoint config asks for."""
    return {
        v["VariantName"]: {
            "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
            "DesiredInstanceCount": variant_count(v),
        }
        for v in snapshot["config"]["ProductionVariants"]
    }


def retained_props(new: VariantProps, old: VariantProps, excluded: set[str]) -> VariantProps:
    """RetainAllVariantProperties: a variant that exists in both configs keeps its
    current weight and count, except the properties named in `excluded`."""
    merged: VariantProps = {}
    for name, props in new.items():
        kept = dict(props)
        for prop in ("DesiredWeight", "DesiredInstanceCount"):
            if name in old and prop not in excluded:
                kept[prop] = old[name][prop]
        merged[name] = kept
    return merged


def deployed_images(model: dict[str, Any], when: float) -> list[dict[str, Any]]:
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    return [
        {"SpecifiedImage": c["Image"], "ResolvedImage": c["Image"], "ResolutionTime": when}
        for c in containers
        if c.get("Image")
    ]


def variant_summaries(
    snapshot: Snapshot, props: VariantProps, live: Deployment | None, when: float
) -> list[dict[str, Any]]:
    """ProductionVariants of DescribeEndpoint for the deployed config."""
    summaries = []
    for variant in snapshot["config"]["ProductionVariants"]:
        name = variant["VariantName"]
        wanted = props.get(name) or initial_props(snapshot)[name]
        weight = live.weights.get(name, wanted["DesiredWeight"]) if live else wanted["DesiredWeight"]
        summary: dict[str, Any] = {"VariantName": name}
        if variant.get("ModelName"):
            summary["DeployedImages"] = deployed_images(snapshot["models"][variant["ModelName"]], when)
        summary.update(CurrentWeight=weight, DesiredWeight=wanted["DesiredWeight"])
        fleet = live.fleets.get(name) if live else None
        if variant.get("ServerlessConfig"):
            summary["CurrentServerlessConfig"] = variant["ServerlessConfig"]
            summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
        else:
            summary["CurrentInstanceCount"] = fleet.serving if fleet else 0
            summary["DesiredInstanceCount"] = wanted["DesiredInstanceCount"]
        if fleet is not None and fleet.repair is not None:
            summary["VariantStatus"] = [repair_status(*fleet.repair)]
        summaries.append(summary)
    return summaries


def repair_status(count: int, reason: str, since: float) -> dict[str, Any]:
    """A variant's status while the server replaces unhealthy instances."""
    return {
        "Status": "Updating",
        "StatusMessage": f"Replacing {count} unhealthy instance(s): {reason}"[:1024],
        "StartTime": since,
    }


def pending_summary(
    snapshot: Snapshot,
    props: VariantProps,
    incoming: Deployment | None,
    stage: tuple[str, str, float],
    started: float,
) -> dict[str, Any]:
    """PendingDeploymentSummary for an update to `snapshot` at `stage`
    (VariantStatus, message, since when)."""
    status, message, since = stage
    variants = []
    for summary in variant_summaries(snapshot, props, incoming, started):
        config = next(
            v for v in snapshot["config"]["ProductionVariants"] if v["VariantName"] == summary["VariantName"]
        )
        if config.get("InstanceType"):
            summary["InstanceType"] = config["InstanceType"]
        summary["VariantStatus"] = [{"Status": status, "StatusMessage": message, "StartTime": since}]
        variants.append(summary)
    return {
        "EndpointConfigName": snapshot["config"]["EndpointConfigName"],
        "ProductionVariants": variants,
        "StartTime": started,
    }

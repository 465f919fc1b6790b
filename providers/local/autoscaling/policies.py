"""How a scaling policy turns a metric value into a capacity. Pure.

- Target tracking: capacity follows the metric in proportion, so that the
  metric per unit of capacity comes back to the target
  (`ceil(capacity * value / target)`).
- Step scaling: the step whose interval holds `value - threshold` gives the
  adjustment: a change in capacity, a percentage of it (at least
  `MinAdjustmentMagnitude`), or an exact capacity.

The alarms that invoke a target tracking policy are the ones Application Auto
Scaling creates for SageMaker variants: AlarmHigh (3 of 3 one-minute periods
above the target) and AlarmLow (15 of 15 below 90% of it, unless scale-in is
disabled).
"""

from __future__ import annotations

import math
from typing import Any

from providers.local.errors import validation

#: Predefined metric type -> (the scalable dimension it is for, namespace, metric name, statistic).
PREDEFINED = {
    "SageMakerVariantInvocationsPerInstance": (
        "sagemaker:variant:DesiredInstanceCount", "AWS/SageMaker", "InvocationsPerInstance", "Sum"
    ),
    "SageMakerInferenceComponentInvocationsPerCopy": (
        "sagemaker:inference-component:DesiredCopyCount", "AWS/SageMaker", "InvocationsPerCopy", "Sum"
    ),
}


def tracking_capacity(current: int, value: float, target: float) -> int:
    return math.ceil(current * value / target - 1e-9) if target > 0 else current


def step_capacity(config: dict[str, Any], current: int, value: float, threshold: float) -> int | None:
    """The capacity a step scaling policy asks for; None when no step holds the value."""
    difference = value - threshold
    for step in config.get("StepAdjustments") or []:
        lower = step.get("MetricIntervalLowerBound", float("-inf"))
        upper = step.get("MetricIntervalUpperBound", float("inf"))
        above = difference >= 0  # above the threshold: [lower, upper); below it: (lower, upper]
        if (lower <= difference < upper) if above else (lower < difference <= upper):
            return _adjust(config, current, int(step["ScalingAdjustment"]))
    return None


def _adjust(config: dict[str, Any], current: int, adjustment: int) -> int:
    adjustment_type = config.get("AdjustmentType", "ChangeInCapacity")
    if adjustment_type == "ExactCapacity":
        return adjustment
    if adjustment_type == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        change = math.floor(change) if change > 0 else math.ceil(change)
        magnitude = int(config.get("MinAdjustmentMagnitude") or 0)
        if adjustment and abs(change) < magnitude:
            change = magnitude if adjustment > 0 else -magnitude
        return current + int(change)
    return current + adjustment


def tracking_metric(config: dict[str, Any], dimension: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    """The alarm fields (metric, or metric math) a target tracking configuration watches, for a
    target of the scalable `dimension` whose metrics carry the dimensions `dims`."""
    predefined = config.get("PredefinedMetricSpecification")
    if predefined:
        metric_type = predefined["PredefinedMetricType"]
        if metric_type not in PREDEFINED or PREDEFINED[metric_type][0] != dimension:
            raise validation(f"The predefined metric type {metric_type} is not supported for this scalable target.")
        _, namespace, name, statistic = PREDEFINED[metric_type]
        return {"Namespace": namespace, "MetricName": name, "Dimensions": dims, "Statistic": statistic, "Period": 60}
    custom = config.get("CustomizedMetricSpecification")
    if not custom:
        raise validation("Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified.")
    if custom.get("Metrics"):
        queries = []
        for query in custom["Metrics"]:
            found = {k: v for k, v in query.items() if k in ("Id", "Expression", "Label", "ReturnData")}
            if "MetricStat" in query:
                stat = query["MetricStat"]
                found["MetricStat"] = {"Metric": stat["Metric"], "Stat": stat["Stat"], "Period": 60}
            queries.append(found)
        return {"Metrics": queries}
    fields = {"Namespace": custom["Namespace"], "MetricName": custom["MetricName"], "Period": 60}
    fields["Dimensions"] = custom.get("Dimensions") or []
    fields["Statistic"] = custom.get("Statistic") or "Average"
    return fields

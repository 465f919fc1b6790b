"""Scaling policies' capacity math, as data."""

from __future__ import annotations

from typing import Any

import pytest

from providers.local.autoscaling.policies import step_capacity, tracking_capacity, tracking_metric
from providers.local.errors import ApiError

STEPS = [
    {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 3},
]


@pytest.mark.parametrize(
    ("config", "current", "value", "expected"),
    [
        ({"AdjustmentType": "ChangeInCapacity"}, 2, 15.0, 3),  # 15 - 10 = 5: second step, +1
        ({"AdjustmentType": "ChangeInCapacity"}, 2, 25.0, 5),  # 15 above: third step, +3
        ({"AdjustmentType": "ChangeInCapacity"}, 2, 5.0, 1),  # below the threshold: first step
        ({"AdjustmentType": "ExactCapacity"}, 2, 25.0, 3),
        ({"AdjustmentType": "PercentChangeInCapacity"}, 4, 15.0, 4),  # +1% of 4 rounds to 0
        ({"AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 1}, 4, 15.0, 5),
    ],
)
def test_step_capacity(config: dict[str, Any], current: int, value: float, expected: int) -> None:
    assert step_capacity({**config, "StepAdjustments": STEPS}, current, value, 10.0) == expected


def test_no_step_holds_the_value() -> None:
    steps = [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 5, "ScalingAdjustment": 1}]
    assert step_capacity({"StepAdjustments": steps}, 2, 20.0, 10.0) is None


@pytest.mark.parametrize(("current", "value", "target", "expected"), [(1, 120.0, 50.0, 3), (3, 10.0, 50.0, 1), (2, 50.0, 50.0, 2)])
def test_tracking_capacity(current: int, value: float, target: float, expected: int) -> None:
    assert tracking_capacity(current, value, target) == expected


COPIES = "sagemaker:inference-component:DesiredCopyCount"
INSTANCES = "sagemaker:variant:DesiredInstanceCount"


def predefined(kind: str) -> dict[str, Any]:
    return {"TargetValue": 5.0, "PredefinedMetricSpecification": {"PredefinedMetricType": kind}}


def test_predefined_metrics_belong_to_their_scalable_dimension() -> None:
    dims = [{"Name": "InferenceComponentName", "Value": "c"}]
    watched = tracking_metric(predefined("SageMakerInferenceComponentInvocationsPerCopy"), COPIES, dims)
    assert (watched["MetricName"], watched["Statistic"], watched["Dimensions"]) == ("InvocationsPerCopy", "Sum", dims)
    variant = [{"Name": "EndpointName", "Value": "e"}, {"Name": "VariantName", "Value": "v"}]
    assert tracking_metric(predefined("SageMakerVariantInvocationsPerInstance"), INSTANCES, variant)["Dimensions"] == variant
    for kind, dimension in (("SageMakerVariantInvocationsPerInstance", COPIES),
                            ("SageMakerInferenceComponentInvocationsPerCopy", INSTANCES)):  # fmt: skip
        with pytest.raises(ApiError) as caught:
            tracking_metric(predefined(kind), dimension, dims)
        assert caught.value.code == "ValidationException"

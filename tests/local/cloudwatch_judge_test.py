"""An alarm's verdict and metric math, as data: values per period in, state out."""

from __future__ import annotations

from typing import Any

import pytest

from providers.local.cloudwatch import expressions
from providers.local.cloudwatch.judge import judge
from providers.local.errors import ApiError

ALARM = {"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0, "EvaluationPeriods": 3,
         "Period": 60, "Statistic": "Sum"}  # fmt: skip

#: (alarm fields, values oldest first, expected state or None for "keeps its state")
CASES: list[tuple[dict[str, Any], list[float | None], str | None]] = [
    ({}, [1, 2, 3], "ALARM"),
    ({}, [1, 0, 3], "OK"),
    ({"DatapointsToAlarm": 2}, [1, 0, 3], "ALARM"),
    ({}, [None, None, None], "INSUFFICIENT_DATA"),
    ({"TreatMissingData": "ignore"}, [None, None, None], None),
    ({"TreatMissingData": "breaching"}, [None, None, None], "ALARM"),
    ({"TreatMissingData": "notBreaching"}, [None, None, None], "OK"),
    ({"TreatMissingData": "breaching"}, [None, 5, None], "ALARM"),
    ({"TreatMissingData": "notBreaching"}, [None, 5, None], "OK"),
    ({}, [None, 5, 5], "ALARM"),  # missing: the periods with data decide
    ({}, [None, 0, 5], "OK"),
    ({"ComparisonOperator": "LessThanThreshold"}, [0, 0, 0], "ALARM"),
    ({"ComparisonOperator": "GreaterThanThreshold"}, [1, 1, 1], "OK"),
]


@pytest.mark.parametrize(("fields", "values", "expected"), CASES)
def test_verdicts(fields: dict[str, Any], values: list[float | None], expected: str | None) -> None:
    verdict = judge({**ALARM, **fields}, values, [0.0, 60.0, 120.0], 180.0)
    assert (verdict.state if verdict else None) == expected


def test_reasons_name_the_datapoints() -> None:
    verdict = judge({**ALARM, "EvaluationPeriods": 1}, [4.0], [0.0], 60.0)
    assert verdict is not None
    assert verdict.reason == "Threshold Crossed: 1 datapoint [4 (01/01/70 00:00:00)] was greater than or equal to the threshold (1)."


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("m1/m2*100", {"m1": 1.0, "m2": 4.0}, 25.0),
        ("-(a - b) + 2", {"a": 1.0, "b": 3.0}, 4.0),
        ("a / b", {"a": 1.0, "b": 0.0}, None),
        ("a + b", {"a": 1.0, "b": None}, None),
    ],
)
def test_metric_math(expression: str, values: dict[str, float | None], expected: float | None) -> None:
    assert expressions.evaluate(expressions.parse(expression), values) == expected


@pytest.mark.parametrize("expression", ["SUM(METRICS())", "a ** 2", "'text'", "a[0]", "__import__('os')"])
def test_metric_math_outside_the_subset_is_refused(expression: str) -> None:
    with pytest.raises(ApiError) as caught:
        expressions.parse(expression)
    assert caught.value.code == "ValidationException"

"""One validator of botocore shapes: AWS's patterns mean what they mean to AWS, for any service."""

from __future__ import annotations

from smstate import shapes
from smstate.shapecheck import Checker, Constraint


def test_unicode_classes_are_honoured_exactly() -> None:
    tag = shapes.named("Tag")
    assert shapes.validate(tag, {"key": "équipe:données", "value": "façade été"}) == []
    assert shapes.validate(tag, {"key": "bad#key", "value": "v"}) == [
        (("key",), "'bad#key' does not match the pattern ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)")
    ]
    assert shapes.validate(tag, {"key": "a", "value": "tab\there"}) != []  # \p{Z} is not every white space


def test_reserved_tag_keys() -> None:
    assert shapes.validate(shapes.named("Tag"), {"key": "Aws:x", "value": "v"}) == [
        (("key",), "keys starting with aws: are reserved")
    ]


def test_other_services_models() -> None:
    shape = shapes.input_shape("PutMetricAlarm", "cloudwatch")
    found = Checker(snake=False).check(shape, {"AlarmName": "a" * 256, "EvaluationPeriods": 0})
    assert {(v.path, v.constraint) for v in found} == {
        (("AlarmName",), Constraint.MAX_LENGTH), (("EvaluationPeriods",), Constraint.MIN_VALUE)
    }
    assert [(v.path, v.constraint) for v in Checker(snake=False).check(shape, {"Period": 60})] == [
        (("AlarmName",), Constraint.MISSING)
    ]
    scaling = shapes.input_shape("RegisterScalableTarget", "application-autoscaling")
    found = Checker(snake=False).check(scaling, {"ServiceNamespace": "nowhere", "ResourceId": "r", "ScalableDimension": 1})
    assert {v.constraint for v in found} == {Constraint.ENUM, Constraint.TYPE}

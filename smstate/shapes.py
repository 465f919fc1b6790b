"""Request shapes of AWS services (SageMaker by default), straight from botocore's models.

Config attributes are the snake_case of the create/update request fields. Nothing here
hand-copies a field list: conversion, validation (shapecheck.py, worded here for the config)
and the JSON Schema all walk botocore's own shapes, so a field SageMaker adds is accepted as
soon as botocore knows it.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
from typing import Any

from botocore.loaders import Loader, create_loader
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from .shapecheck import FLOAT_TYPES as _FLOAT_TYPES
from .shapecheck import INT_TYPES as _INT_TYPES
from .shapecheck import Checker, Constraint, Violation, snake_members
from .values import SENSITIVE, is_secret, like

@functools.cache
def data_loader() -> Loader:
    """botocore's loader of service models, shared so the large SageMaker model is parsed once."""
    return create_loader()


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    """botocore's model of one AWS service (`sagemaker`, `cloudwatch`, ...), parsed once."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", data_loader())
    return session.get_service_model(service)


@functools.cache
def named(name: str, service: str = "sagemaker") -> Shape:
    """A shape by name, built once (botocore builds a new object on every lookup)."""
    return service_model(service).shape_for(name)


@functools.cache
def input_shape(operation: str, service: str = "sagemaker") -> StructureShape:
    shape = service_model(service).operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def field_names(shape: StructureShape) -> list[str]:
    return list(snake_members(shape))


def member_shape(shape: StructureShape, field: str) -> Shape:
    return shape.members[snake_members(shape)[field]]


def to_request(shape: Shape, value: Any) -> Any:
    """Convert a validated snake_case value into the request's member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        names = snake_members(shape)
        return {names[k]: to_request(shape.members[names[k]], v) for k, v in value.items() if k in names}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_request(shape.member, v) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: to_request(shape.value, v) for k, v in value.items()}
    if shape.type_name in _FLOAT_TYPES and isinstance(value, int) and not isinstance(value, bool):
        return like(value, float(value))
    return value


def from_response(shape: Shape, value: Any) -> Any:
    """Convert a Describe response into snake_case, keeping only fields the request shape has.

    Empty maps and lists equal absent, and output-only fields (times, statuses) are dropped,
    so two reads of an unchanged object always compare equal.
    """
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return None
        out = {}
        for snake, member in snake_members(shape).items():
            if member in value:
                converted = from_response(shape.members[member], value[member])
                if converted not in (None, {}, []):
                    out[snake] = converted
        return out
    if isinstance(shape, ListShape):
        return [from_response(shape.member, v) for v in value] if isinstance(value, list) else None
    if isinstance(shape, MapShape):
        return {k: from_response(shape.value, v) for k, v in value.items()} if isinstance(value, dict) else None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if shape.type_name in _FLOAT_TYPES and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


Problem = tuple[tuple[str | int, ...], str]

_CONFIG = Checker(snake=True)
_EXPECTED = {"list": "a list", "map": "a map", "structure": "a map", "string": "a string", "integer": "an integer",
             "number": "a number"}


def validate(shape: Shape, value: Any, path: tuple[str | int, ...] = ()) -> list[Problem]:
    """Check a snake_case value against a request shape: keys, types, enums, ranges, patterns."""
    return [(v.path, _config_words(v)) for v in _CONFIG.check(shape, value, path)]


def _config_words(violation: Violation) -> str:
    """A violation in the config's words."""
    what, value, limit, unit = violation.constraint, violation.value, violation.limit, violation.unit
    if what is Constraint.TYPE:
        if limit == "boolean":
            return f"expected true or false, got {_type(value)}"
        return "expected a timestamp" if limit == "timestamp" else f"expected {_EXPECTED[limit]}, got {_type(value)}"
    if what is Constraint.UNKNOWN:
        hint = difflib.get_close_matches(str(violation.path[-1]), limit, n=1)
        return "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    if what is Constraint.MISSING:
        return "field required"
    if what is Constraint.ENUM:
        return f"must be one of {', '.join(limit)}; got {_quoted(value)}"
    if what is Constraint.PATTERN:
        return f"{_quoted(value)} does not match the pattern {limit}"
    if what is Constraint.RESERVED:
        return f"keys starting with {limit} are reserved"
    bound = "at least" if what in (Constraint.MIN_LENGTH, Constraint.MIN_VALUE) else "at most"
    return f"must have {bound} {limit} {unit}" if unit else f"must be {bound} {limit}"


def _type(value: Any) -> str:
    python_type = next((t for t in (bool, int, float, str, list, dict) if isinstance(value, t)), type(value))
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a map"}.get(
        python_type, python_type.__name__
    )


def _quoted(value: str) -> str:
    """A value quoted in an error message: never a sensitive one, and never pages of one."""
    if is_secret(value):
        return SENSITIVE
    return repr(value) if len(value) <= 80 else f"{value[:60]!r}... ({len(value)} characters)"


def json_schema(shape: Shape, depth: int = 0) -> dict[str, Any]:
    """The JSON Schema of a request shape, in snake_case, for YAML editors."""
    doc = (shape.documentation or "").replace("<p>", "").replace("</p>", "").strip()
    out: dict[str, Any] = {"description": re.sub(r"<[^>]+>", "", doc)[:400]} if doc else {}
    if isinstance(shape, StructureShape):
        props = {} if depth > 12 else {
            snake: json_schema(shape.members[m], depth + 1) for snake, m in snake_members(shape).items()
        }
        out.update({"type": "object", "properties": props, "additionalProperties": False})
    elif isinstance(shape, ListShape):
        out.update({"type": "array", "items": json_schema(shape.member, depth + 1)})
    elif isinstance(shape, MapShape):
        out.update({"type": "object", "additionalProperties": json_schema(shape.value, depth + 1)})
    elif shape.type_name == "string":
        out["type"] = "string"
        if shape.enum:
            out["enum"] = list(shape.enum)
    elif shape.type_name in _INT_TYPES:
        out["type"] = "integer"
    elif shape.type_name in _FLOAT_TYPES:
        out["type"] = "number"
    elif shape.type_name == "boolean":
        out["type"] = "boolean"
    return out

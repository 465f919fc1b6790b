"""SageMaker request shapes, straight from botocore's service model.

Config attributes are the snake_case of the create/update request fields. Nothing here
hand-copies a field list: conversion, validation and the JSON Schema all walk botocore's
own shapes, so a field SageMaker adds is accepted as soon as botocore knows it.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import gc
import re
from typing import Any

from botocore import xform_name
from botocore.loaders import Loader, create_loader
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from .values import SENSITIVE, Unknown, is_secret, like

_INT_TYPES = ("integer", "long")
_FLOAT_TYPES = ("float", "double")


@functools.cache
def data_loader() -> Loader:
    """botocore's loader of service models, shared so the large SageMaker model is parsed once."""
    return create_loader()


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", data_loader())
    model = session.get_service_model(service)
    # The model is some 100,000 objects that live as long as the process. Frozen, they are
    # left out of every later garbage collection, which otherwise walks them all again and
    # again while a large config is parsed and planned (half the CPU time of a plan).
    gc.freeze()
    return model


@functools.cache
def named(name: str, service: str = "sagemaker") -> Shape:
    """A shape by name, built once (botocore builds a new object on every lookup)."""
    return service_model(service).shape_for(name)


@functools.cache
def input_shape(operation: str, service: str = "sagemaker") -> StructureShape:
    shape = service_model(service).operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


@functools.cache
def _members(shape: StructureShape) -> dict[str, str]:
    """snake_case field -> request member name."""
    return {xform_name(name): name for name in shape.members}


def field_names(shape: StructureShape) -> list[str]:
    return list(_members(shape))


def member_shape(shape: StructureShape, field: str) -> Shape:
    return shape.members[_members(shape)[field]]


def to_request(shape: Shape, value: Any) -> Any:
    """Convert a validated snake_case value into the request's member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        names = _members(shape)
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
        for snake, member in _members(shape).items():
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


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    """Compile an AWS (Java-flavoured) pattern; Unicode classes become their closest `re` form."""
    text = text.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d").replace(r"\p{Z}", r"\s")
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


Problem = tuple[tuple[str | int, ...], str]


def validate(shape: Shape, value: Any, path: tuple[str | int, ...] = ()) -> list[Problem]:
    """Check a snake_case value against a request shape: keys, types, enums, ranges, patterns."""
    if isinstance(value, Unknown):
        return []
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _validate_structure(shape, value, path)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [(path, f"expected a list, got {_type(value)}")]
        problems = _range(shape, len(value), path, "items")
        for i, item in enumerate(value):
            problems += validate(shape.member, item, path + (i,))
        return problems
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [(path, f"expected a map, got {_type(value)}")]
        problems = _range(shape, len(value), path, "entries")
        for k, v in value.items():
            problems += validate(shape.key, like(value, str(k)), path + (str(k),))
            problems += validate(shape.value, v, path + (str(k),))
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [(path, f"expected a string, got {_type(value)}")]
        return _validate_string(shape, value, path)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [(path, f"expected true or false, got {_type(value)}")]
    if kind in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            return [(path, f"expected an integer, got {_type(value)}")]
        return _range(shape, value, path, "")
    if kind in _FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [(path, f"expected a number, got {_type(value)}")]
        return _range(shape, value, path, "")
    if kind == "timestamp":
        return [] if isinstance(value, (str, int, float)) else [(path, "expected a timestamp")]
    return []


def _validate_structure(shape: StructureShape, value: Any, path: tuple[str | int, ...]) -> list[Problem]:
    if not isinstance(value, dict):
        return [(path, f"expected a map, got {_type(value)}")]
    names = _members(shape)
    problems: list[Problem] = []
    for key, item in value.items():
        if key not in names:
            hint = difflib.get_close_matches(key, names, n=1)
            problems.append((path + (key,), "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else "")))
        else:
            problems += validate(shape.members[names[key]], item, path + (key,))
    for member in shape.required_members:
        snake = xform_name(member)
        if snake not in value:
            problems.append((path + (snake,), "field required"))
    return problems


def _validate_string(shape: Shape, value: str, path: tuple[str | int, ...]) -> list[Problem]:
    if shape.enum and value not in shape.enum:
        return [(path, f"must be one of {', '.join(shape.enum)}; got {_quoted(value)}")]
    problems = _range(shape, len(value), path, "characters")
    pattern = shape.metadata.get("pattern")
    compiled = _pattern(pattern) if pattern else None
    if compiled is not None and not problems and not compiled.fullmatch(value):
        problems.append((path, f"{_quoted(value)} does not match the pattern {pattern}"))
    return problems


def _range(shape: Shape, size: float, path: tuple[str | int, ...], unit: str) -> list[Problem]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = f"{unit} " if unit else ""
    if low is not None and size < low:
        return [(path, f"must have at least {low} {what}".rstrip() if unit else f"must be at least {low}")]
    if high is not None and size > high:
        return [(path, f"must have at most {high} {what}".rstrip() if unit else f"must be at most {high}")]
    return []


def _type(value: Any) -> str:
    kind = next((t for t in (bool, int, float, str, list, dict) if isinstance(value, t)), type(value))
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a map"}.get(
        kind, kind.__name__
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
            snake: json_schema(shape.members[m], depth + 1) for snake, m in _members(shape).items()
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

"""The one check of a value against a botocore shape, for any AWS service.

It walks the shape and reports each `Violation` as data (where, which constraint, the
limit); the config reports them in its own words (shapes.py), the local server in AWS's
server-side words. Keys are either the config's snake_case names or the request's member
names. Patterns are AWS's (Java-flavoured) regular expressions, Unicode classes such as
`\\p{L}` included, compiled with the `regex` module so that they mean exactly what they
mean to AWS.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from typing import Any

import regex
from botocore import xform_name
from botocore.model import ListShape, MapShape, Shape, StructureShape

from .values import Unknown, like

INT_TYPES = ("integer", "long")
FLOAT_TYPES = ("float", "double")
RESERVED_TAG_PREFIX = "aws:"

Path = tuple[str | int, ...]


class Constraint(Enum):
    """What a value failed to satisfy."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    TYPE = "type"
    MIN_LENGTH = "min_length"
    MAX_LENGTH = "max_length"
    MIN_VALUE = "min_value"
    MAX_VALUE = "max_value"
    PATTERN = "pattern"
    ENUM = "enum"
    RESERVED = "reserved"


@dataclass(frozen=True)
class Violation:
    """One failed constraint: the key path, the value found and the limit it broke.

    `limit` is the bound (lengths, ranges), the pattern text, the enum values, the
    expected type name (`TYPE`) or the known keys (`UNKNOWN`)."""

    path: Path
    constraint: Constraint
    value: Any
    limit: Any = None
    unit: str = ""
    """What a length counts: characters, items or entries."""


@functools.cache
def compiled(pattern: str) -> regex.Pattern[str] | None:
    """An AWS pattern, compiled as AWS means it (None if even `regex` cannot read it)."""
    try:
        return regex.compile(pattern, regex.DOTALL)
    except regex.error:
        return None


@functools.cache
def snake_members(shape: StructureShape) -> dict[str, str]:
    """snake_case key -> member name."""
    return {xform_name(name): name for name in shape.members}


@dataclass(frozen=True)
class Checker:
    """Walks values against shapes. `snake`: keys are snake_case (config), else member names.
    `relaxed`: names of shapes whose pattern is not applied."""

    snake: bool = True
    relaxed: frozenset[str] = frozenset()

    def check(self, shape: Shape, value: Any, path: Path = ()) -> list[Violation]:
        if isinstance(value, Unknown):
            return []
        if isinstance(shape, StructureShape):
            return self._structure(shape, value, path)
        if isinstance(shape, ListShape):
            if not isinstance(value, list):
                return [Violation(path, Constraint.TYPE, value, "list")]
            out = _size(shape, len(value), value, path, "items")
            for i, item in enumerate(value):
                out += self.check(shape.member, item, path + (i,))
            return out
        if isinstance(shape, MapShape):
            if not isinstance(value, dict):
                return [Violation(path, Constraint.TYPE, value, "map")]
            out = _size(shape, len(value), value, path, "entries")
            for k, v in value.items():
                out += self.check(shape.key, like(value, str(k)), path + (str(k),))
                out += self.check(shape.value, v, path + (str(k),))
            return out
        return _scalar(shape, value, path, shape.name not in self.relaxed)

    def _structure(self, shape: StructureShape, value: Any, path: Path) -> list[Violation]:
        if not isinstance(value, dict):
            return [Violation(path, Constraint.TYPE, value, "structure")]
        names = snake_members(shape) if self.snake else {m: m for m in shape.members}
        out: list[Violation] = []
        for key, item in value.items():
            if key not in names:
                out.append(Violation(path + (key,), Constraint.UNKNOWN, item, list(names)))
            elif item is not None or self.snake:
                out += self.check(shape.members[names[key]], item, path + (key,))
        for member in shape.required_members:
            key = xform_name(member) if self.snake else member
            if value.get(key) is None and not (self.snake and key in value):
                out.append(Violation(path + (key,), Constraint.MISSING, None))
        return out


def _scalar(shape: Shape, value: Any, path: Path, with_pattern: bool) -> list[Violation]:
    type_name = shape.type_name
    if type_name == "string":
        if not isinstance(value, str):
            return [Violation(path, Constraint.TYPE, value, "string")]
        return _string(shape, value, path, with_pattern)
    if type_name == "boolean":
        return [] if isinstance(value, bool) else [Violation(path, Constraint.TYPE, value, "boolean")]
    if type_name in INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            return [Violation(path, Constraint.TYPE, value, "integer")]
        return _size(shape, value, value, path, "")
    if type_name in FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [Violation(path, Constraint.TYPE, value, "number")]
        return _size(shape, value, value, path, "")
    if type_name == "timestamp":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        return [] if ok else [Violation(path, Constraint.TYPE, value, "timestamp")]
    return []


def _string(shape: Shape, value: str, path: Path, with_pattern: bool) -> list[Violation]:
    if shape.enum and value not in shape.enum:
        return [Violation(path, Constraint.ENUM, value, list(shape.enum))]
    out = _size(shape, len(value), value, path, "characters")
    pattern = shape.metadata.get("pattern")
    matcher = compiled(pattern) if pattern and with_pattern else None
    if matcher is not None and not out and not matcher.fullmatch(value):
        out.append(Violation(path, Constraint.PATTERN, value, pattern))
    if shape.name == "TagKey" and value.lower().startswith(RESERVED_TAG_PREFIX):
        out.append(Violation(path, Constraint.RESERVED, value, RESERVED_TAG_PREFIX))
    return out


def _size(shape: Shape, size: float, value: Any, path: Path, unit: str) -> list[Violation]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        return [Violation(path, Constraint.MIN_VALUE if not unit else Constraint.MIN_LENGTH, value, low, unit)]
    if high is not None and size > high:
        return [Violation(path, Constraint.MAX_VALUE if not unit else Constraint.MAX_LENGTH, value, high, unit)]
    return []


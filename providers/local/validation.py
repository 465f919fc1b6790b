"""Request validation against botocore's own service models (SageMaker, and the
other services the local server speaks).

The field lists, types, enums, ranges and patterns are never copied by hand: the
service model that ships with botocore is the contract. Two passes run:

1. botocore's `ParamValidator` (required members, unknown members, types, minimums),
   reported with botocore's own wording;
2. the constraints botocore leaves to the service (enums, maximums, patterns),
   reported the way SageMaker words them ("Value 'x' at 'a.b' failed to satisfy
   constraint: ...").

Patterns use Java regex syntax; the few that Python cannot compile (Unicode
classes such as `\\p{L}`) are skipped rather than guessed. `ModelDataUrl` (shape
`Url`) is exempt from its pattern on purpose: the local server also accepts
`file://` URLs and absolute paths, an extension AWS does not have.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from providers.local.errors import validation

#: Shapes whose pattern the local server deliberately relaxes (see module doc).
RELAXED_PATTERNS = frozenset({"Url"})


@lru_cache(maxsize=None)
def service_model(service: str = "sagemaker") -> ServiceModel:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def operation(name: str, service: str = "sagemaker") -> OperationModel | None:
    try:
        return service_model(service).operation_model(name)
    except Exception:  # botocore raises OperationNotFoundError
        return None


def validate_request(op: OperationModel, params: Any) -> None:
    """Raise `ValidationException` unless `params` is a valid input of `op`."""
    shape = op.input_shape
    if shape is None:
        return
    if not isinstance(params, dict):
        raise validation("Request body must be a JSON object.")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise validation("Parameter validation failed:\n" + report.generate_report())
    problems: list[str] = []
    _check_constraints(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation(f"{count} validation {noun} detected: " + "; ".join(problems))


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _check_constraints(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        for member, member_shape in shape.members.items():
            if member in value and value[member] is not None:
                child = f"{path}.{_lower_first(member)}" if path else _lower_first(member)
                _check_constraints(member_shape, value[member], child, problems)
    elif kind == "list" and isinstance(value, list):
        _check_size(shape, len(value), value, path, problems, "length")
        for index, item in enumerate(value, start=1):
            _check_constraints(shape.member, item, f"{path}.{index}.member", problems)  # type: ignore[attr-defined]
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check_constraints(shape.key, key, f"{path}.{key}.key", problems)  # type: ignore[attr-defined]
            _check_constraints(shape.value, item, f"{path}.{key}.value", problems)  # type: ignore[attr-defined]
    elif kind == "string" and isinstance(value, str):
        _check_string(shape, value, path, problems)
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        _check_size(shape, value, value, path, problems, "value")


def _check_size(shape: Shape, size: float, value: Any, path: str, problems: list[str], what: str) -> None:
    maximum = shape.metadata.get("max")
    if maximum is not None and size > maximum:
        problems.append(
            f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
            f"Member must have {what} less than or equal to {maximum}"
        )


def _check_string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        problems.append(
            f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(enum)}]"
        )
        return
    _check_size(shape, len(value), value, path, problems, "length")
    pattern = shape.metadata.get("pattern")
    if pattern and shape.name not in RELAXED_PATTERNS:
        compiled = _compiled(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            problems.append(
                f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"'{text}'"

"""Request validation against botocore's own service models, in AWS's server-side words.

The check itself is the core's (`smstate.shapecheck`), the one the config is validated
with: field lists, types, enums, ranges and patterns (Unicode classes such as `\\p{L}`
included) come from the service model that ships with botocore, of any service
(`sagemaker`, `cloudwatch`, `application-autoscaling`). This module words what it finds
the way AWS's servers do:

- a value of the wrong type is a `SerializationException`, as AWS refuses a body it
  cannot read into the request's shape before validating anything;
- every other problem joins one `ValidationException`: "2 validation errors detected:
  Value null at 'modelName' failed to satisfy constraint: Member must not be null; ...".

`ModelDataUrl` (shape `Url`) is exempt from its pattern on purpose: the local server also
accepts `file://` URLs and absolute paths, an extension AWS does not have.
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel

from providers.local.errors import ApiError, validation
from smstate.shapecheck import Checker, Constraint, Path, Violation
from smstate.shapes import service_model

#: Shapes whose pattern the local server deliberately relaxes (see module doc).
RELAXED_PATTERNS = frozenset({"Url"})

_REQUESTS = Checker(snake=False, relaxed=RELAXED_PATTERNS)
_TYPE_NAMES = {"string": "a String", "integer": "an Integer", "number": "a Double", "boolean": "a Boolean",
               "timestamp": "a Date"}  # fmt: skip


def operation(name: str, service: str = "sagemaker") -> OperationModel | None:
    try:
        return service_model(service).operation_model(name)
    except Exception:  # botocore raises OperationNotFoundError
        return None


def validate_request(op: OperationModel, params: Any) -> None:
    """Raise `SerializationException` or `ValidationException` unless `params` is a valid input of `op`."""
    shape = op.input_shape
    if shape is None:
        return
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "Request body must be a JSON object.")
    violations = _REQUESTS.check(shape, params)
    for violation in violations:
        if violation.constraint is Constraint.TYPE:
            raise ApiError("SerializationException", _serialization_words(violation))
    unknown = [v for v in violations if v.constraint is Constraint.UNKNOWN]
    if unknown:
        names = ", ".join(unknown[0].limit)
        raise validation(f'Unknown parameter in input: "{unknown[0].path[-1]}", must be one of: {names}')
    problems = [_aws_words(v) for v in violations]
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise validation(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))


def _aws_words(violation: Violation) -> str:
    what, limit = violation.constraint, violation.limit
    if what is Constraint.MISSING:
        rule = "Member must not be null"
    elif what is Constraint.ENUM:
        rule = f"Member must satisfy enum value set: [{', '.join(limit)}]"
    elif what is Constraint.PATTERN:
        rule = f"Member must satisfy regular expression pattern: {limit}"
    elif what is Constraint.RESERVED:
        rule = f"Member must not start with '{limit}'"
    else:
        measure = "value" if what in (Constraint.MIN_VALUE, Constraint.MAX_VALUE) else "length"
        bound = "greater" if what in (Constraint.MIN_VALUE, Constraint.MIN_LENGTH) else "less"
        rule = f"Member must have {measure} {bound} than or equal to {limit}"
    shown = "null" if violation.value is None else _show(violation.value)
    return f"Value {shown} at '{aws_path(violation.path)}' failed to satisfy constraint: {rule}"


def aws_path(path: Path) -> str:
    """AWS's way of naming a member: `tags.1.member.key`, `primaryContainer.environment`."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"{part + 1}.member")
        else:
            parts.append(part[:1].lower() + part[1:])
    return ".".join(parts)


def _serialization_words(violation: Violation) -> str:
    value, expected = violation.value, violation.limit
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    if expected in ("structure", "map"):
        return "Expected a structure or map at '" + aws_path(violation.path) + "'."
    if expected == "list":
        return "Expected a list at '" + aws_path(violation.path) + "'."
    token = "STRING_VALUE" if isinstance(value, str) else "BOOLEAN_VALUE" if isinstance(value, bool) else "NUMBER_VALUE"
    return f"{token} can not be converted to {_TYPE_NAMES[expected]}"


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"'{text}'"

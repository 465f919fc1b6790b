"""The AWS query protocol, for the services that still accept it (CloudWatch).

A request is `POST /` with a form body: `Action=<Op>&Version=...` and the
parameters flattened by the operation's input shape (`Dimensions.member.1.Name`,
`Map.entry.1.key`). The answer is XML: `<OpResponse><OpResult>...</OpResult>
<ResponseMetadata>...</ResponseMetadata></OpResponse>`, lists as `<member>`
elements, timestamps in ISO 8601; an error is an `<ErrorResponse>` carrying the
query error code.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import Shape

from providers.local.errors import ApiError
from providers.local.services import Service

FORM = b"application/x-www-form-urlencoded"


def is_query(content_type: bytes | None, body: bytes) -> bool:
    return bool(content_type and content_type.startswith(FORM)) or body.startswith(b"Action=")


def decode(body: bytes) -> tuple[str, dict[str, str]]:
    """(the operation, the flat form fields)."""
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise ApiError("SerializationException", "The request body is not UTF-8 form data.") from None
    action = fields.pop("Action", "")
    fields.pop("Version", None)
    return action, fields


def unflatten(shape: Shape | None, fields: dict[str, str], prefix: str = "") -> Any:
    """The parameters of `shape` from the flat form `fields` under `prefix`."""
    if shape is None:
        return None
    type_name = shape.type_name
    if type_name == "structure":
        found = {}
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            key = f"{prefix}.{name}" if prefix else name
            if any(k == key or k.startswith(key + ".") for k in fields):
                found[name] = unflatten(member, fields, key)
        return found
    if type_name == "list":
        items, index = [], 1
        while any(k == f"{prefix}.member.{index}" or k.startswith(f"{prefix}.member.{index}.") for k in fields):
            items.append(unflatten(shape.member, fields, f"{prefix}.member.{index}"))  # type: ignore[attr-defined]
            index += 1
        return items
    if type_name == "map":
        entries, index = {}, 1
        while f"{prefix}.entry.{index}.key" in fields:
            key = fields[f"{prefix}.entry.{index}.key"]
            entries[key] = unflatten(shape.value, fields, f"{prefix}.entry.{index}.value")  # type: ignore[attr-defined]
            index += 1
        return entries
    return _scalar(type_name, fields.get(prefix, ""))


def _scalar(type_name: str, text: str) -> Any:
    try:
        if type_name in ("integer", "long"):
            return int(text)
        if type_name in ("float", "double"):
            return float(text)
    except ValueError:
        return text  # the model's validation reports the wrong type
    if type_name == "boolean":
        return text.lower() == "true"
    return text


def encode(service: Service, operation: str, result: dict[str, Any], request_id: str) -> bytes:
    shape = service.model.operation_model(operation).output_shape
    inner = _xml(shape, result) if shape is not None else ""
    namespace = service.model.metadata.get("xmlNamespace") or ""
    return (
        f'<{operation}Response xmlns="{namespace}"><{operation}Result>{inner}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    ).encode()


def encode_error(service: Service | None, error: ApiError, request_id: str) -> bytes:
    code, fault = service.query_code(error.code or "InternalFailure") if service else (error.code, "Sender")
    return (
        f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(code or '')}</Code>"
        f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def _xml(shape: Shape, value: Any) -> str:
    type_name = shape.type_name
    if type_name == "structure":
        parts = []
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if value.get(name) is not None:
                parts.append(f"<{name}>{_xml(member, value[name])}</{name}>")
        return "".join(parts)
    if type_name == "list":
        return "".join(f"<member>{_xml(shape.member, item)}</member>" for item in value)  # type: ignore[attr-defined]
    if type_name == "map":
        return "".join(
            f"<entry><key>{escape(str(k))}</key><value>{_xml(shape.value, v)}</value></entry>"  # type: ignore[attr-defined]
            for k, v in value.items()
        )
    if type_name == "timestamp":
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(float(value))) + f".{int(float(value) % 1 * 1000):03d}Z"
    if type_name == "boolean":
        return "true" if value else "false"
    return escape(str(value))

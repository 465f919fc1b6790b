"""The wire forms of the services in `services`: AWS JSON 1.0 and 1.1, and
smithy RPC v2 CBOR (what current botocore speaks to CloudWatch).

- JSON: `POST /` with `X-Amz-Target: <prefix>.<Operation>`; timestamps are
  epoch seconds; an error is `{"__type": CODE, "message": ...}`.
- CBOR: `POST /service/<service>/operation/<Operation>` with
  `smithy-protocol: rpc-v2-cbor`; timestamps are CBOR tag 1 (epoch seconds);
  every answer, error or not, carries the `smithy-protocol` header.

For a query-compatible service an error also carries `x-amzn-query-error:
CODE;Sender`, from which botocore takes the older query code.
"""

from __future__ import annotations

import json
import uuid
from enum import Enum
from typing import Any

import cbor2

from providers.local.controlplane import MAX_DEPTH, _deeper_than, _parse
from providers.local import query
from providers.local.errors import ApiError
from providers.local.services import Service, walk_timestamps

Headers = list[tuple[bytes, bytes]]

CBOR_PREFIX = "/service/"


class Wire(Enum):
    JSON_10 = b"application/x-amz-json-1.0"
    JSON_11 = b"application/x-amz-json-1.1"
    CBOR = b"application/cbor"


def json_wire(service: Service) -> Wire:
    return Wire.JSON_11 if service.model.metadata.get("jsonVersion") == "1.1" else Wire.JSON_10


def cbor_route(path: str) -> tuple[str, str] | None:
    """(service, operation) of a `/service/<service>/operation/<Op>` path."""
    parts = path[len(CBOR_PREFIX) :].split("/")
    if len(parts) == 3 and parts[1] == "operation":
        return parts[0], parts[2]
    return None


def decode(wire: Wire, body: bytes) -> dict[str, Any]:
    if wire is not Wire.CBOR:
        return dict(_parse(body))
    if not body:
        return {}
    try:
        params = cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several decoder errors
        raise ApiError("SerializationException", f"The request body is not valid CBOR: {exc}") from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a CBOR map.")
    if _deeper_than(params, MAX_DEPTH):
        raise ApiError("SerializationException", f"The request body nests deeper than {MAX_DEPTH} levels.")
    return params


def encode(wire: Wire, service: Service, operation: str, result: dict[str, Any]) -> tuple[Headers, bytes]:
    shape = service.model.operation_model(operation).output_shape
    if wire is Wire.CBOR:
        tagged = walk_timestamps(shape, result, lambda v: cbor2.CBORTag(1, float(v)))
        return _cbor_headers(), cbor2.dumps(tagged)
    return [(b"content-type", wire.value)], json.dumps(result).encode()


def encode_error(wire: Wire, service: Service | None, error: ApiError) -> tuple[Headers, bytes]:
    payload: dict[str, Any] = {"__type": error.code or "InternalFailure", "message": error.message}
    payload.update(error.extra)
    headers = _cbor_headers() if wire is Wire.CBOR else [(b"content-type", wire.value)]
    if service is not None and service.query_codes and error.code:
        code, fault = service.query_code(error.code)
        headers.append((b"x-amzn-query-error", f"{code};{fault}".encode()))
    body = cbor2.dumps(payload) if wire is Wire.CBOR else json.dumps(payload).encode()
    return headers, body


def _cbor_headers() -> Headers:
    return [(b"content-type", Wire.CBOR.value), (b"smithy-protocol", b"rpc-v2-cbor")]


class Dispatcher:
    """Answers a request to any of `services`, in the protocol it came in."""

    def __init__(self, services: list[Service]) -> None:
        self.by_prefix = {service.target_prefix: service for service in services}
        #: The service that also speaks the query protocol (a form body at `/`).
        self.query_service = next((s for s in services if "query" in s.model.metadata.get("protocols", [])), None)

    def route(self, target: str | None) -> tuple[str, str] | None:
        """(service prefix, operation) of an `X-Amz-Target` this dispatcher serves."""
        prefix, _, operation = (target or "").partition(".")
        return (prefix, operation) if prefix in self.by_prefix else None

    async def answer(
        self, wire: Wire | None, prefix: str, operation: str, body: bytes, region: str
    ) -> tuple[int, Headers, bytes]:
        """(status, headers, body); `wire` None means the service's JSON."""
        service = self.by_prefix.get(prefix)
        wire = wire or (json_wire(service) if service else Wire.JSON_11)
        try:
            if service is None:
                raise ApiError("UnknownOperationException", f"The local server does not speak {prefix}.", 404)
            result = await service.call(operation, decode(wire, body), region)
        except ApiError as error:
            headers, payload = encode_error(wire, service, error)
            return error.status, headers, payload
        headers, payload = encode(wire, service, operation, result)
        return 200, headers, payload

    async def answer_query(self, body: bytes, region: str) -> tuple[int, Headers, bytes]:
        """A query-protocol request: (status, headers, XML body)."""
        request_id = str(uuid.uuid4())
        service = self.query_service
        headers: Headers = [(b"content-type", b"text/xml")]
        try:
            operation, fields = query.decode(body)
            if service is None:
                raise ApiError("UnknownOperationException", "No service here speaks the query protocol.", 404)
            params = query.unflatten(service.operation(operation).input_shape, fields)
            result = await service.call(operation, params or {}, region)
        except ApiError as error:
            return error.status, headers, query.encode_error(service, error, request_id)
        return 200, headers, query.encode(service, operation, result, request_id)

"""The AWS services beyond SageMaker that the local server speaks.

A `Service` is one botocore service model plus its operation handlers. A
request is answered in the same order as a SageMaker one: the operation must be
implemented (`UnknownOperationException`), the parameters must satisfy
botocore's model for that service (`ValidationException`), then the handler
runs. Handlers take and return plain dicts; timestamps are epoch seconds inside
the server and take their wire form in `protocols`.

Services whose errors carry the older query protocol's codes (CloudWatch: the
model's `awsQueryCompatible` trait) get them from the model's error shapes, so
a client sees the same `Error.Code` whichever protocol it spoke.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import cached_property
from datetime import datetime, timezone
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.utils import parse_timestamp

from providers.local.errors import ApiError, internal
from providers.local.settings import DEFAULT_REGION
from providers.local.validation import service_model, validate_request

log = logging.getLogger("smstate.local")

#: The region the current request was signed for (it goes into new ARNs).
current_region: ContextVar[str] = ContextVar("current_region", default=DEFAULT_REGION)

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[dict[str, Any]]]


class Service:
    """One AWS service: its botocore model and the operations implemented."""

    def __init__(self, name: str, operations: dict[str, Handler]) -> None:
        self.name = name
        self.operations = operations

    @cached_property
    def model(self) -> ServiceModel:
        return service_model(self.name)

    @property
    def target_prefix(self) -> str:
        return str(self.model.metadata["targetPrefix"])

    @cached_property
    def query_codes(self) -> dict[str, tuple[str, str]]:
        """Error shape name -> (query error code, Sender|Receiver)."""
        if "awsQueryCompatible" not in self.model.metadata:
            return {}
        codes = {}
        for shape in self.model.error_shapes:
            error = shape.metadata.get("error") or {}
            fault = "Sender" if error.get("senderFault") else "Receiver"
            codes[shape.name] = (error.get("code") or shape.name, fault)
        return codes

    def query_code(self, code: str) -> tuple[str, str]:
        return self.query_codes.get(code, (code, "Sender"))

    def operation(self, name: str) -> OperationModel:
        if name not in self.operations:
            raise ApiError("UnknownOperationException", f"The local server does not implement {self.name} {name}.")
        return self.model.operation_model(name)

    async def call(self, name: str, params: Params, region: str = DEFAULT_REGION) -> dict[str, Any]:
        """Validate `params` for operation `name`, run it (for `region`), return its result."""
        current_region.set(region)
        op = self.operation(name)
        validate_request(op, params)
        params = walk_timestamps(op.input_shape, params, to_epoch)
        try:
            return await self.operations[name](params)
        except ApiError:
            raise
        except Exception as exc:
            log.exception("%s %s failed", self.name, name)
            raise internal(f"{name} failed inside the local server: {exc}") from exc


def walk_timestamps(shape: Shape | None, value: Any, convert: Callable[[Any], Any]) -> Any:
    """`value` with every member of timestamp shape passed through `convert`."""
    if shape is None or value is None:
        return value
    type_name = shape.type_name
    if type_name == "timestamp":
        return convert(value)
    if type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {k: walk_timestamps(members.get(k), v, convert) for k, v in value.items()}
    if type_name == "list" and isinstance(value, list):
        return [walk_timestamps(shape.member, v, convert) for v in value]  # type: ignore[attr-defined]
    if type_name == "map" and isinstance(value, dict):
        return {k: walk_timestamps(shape.value, v, convert) for k, v in value.items()}  # type: ignore[attr-defined]
    return value


def to_epoch(value: Any) -> float:
    """A request timestamp (datetime, ISO 8601 text or epoch number) in epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    when = value if isinstance(value, datetime) else parse_timestamp(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()

"""The SageMaker control plane over the JSON 1.1 protocol.

The Resource Groups Tagging API's GetResources is answered here too (`tagging`).
A request is `POST /` with `X-Amz-Target: SageMaker.<Operation>` and a JSON
object body. It is answered in this order, each step with an AWS-shaped error
when it fails: the operation must be one the server implements
(`UnknownOperationException`), the body must be a JSON object
(`SerializationException`; so is one nested deeper than `MAX_DEPTH`, which no
SageMaker request needs and which would otherwise exhaust the stack of
everything that walks it), the parameters must satisfy botocore's service
model (`ValidationException`), then the operation runs. Signatures are not
checked; the signing region only names the region in new ARNs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from providers.local import arns, tagging
from providers.local.api import OPERATIONS
from providers.local.api.context import Context
from providers.local.errors import ApiError, internal
from providers.local.lifecycle import Endpoints
from providers.local.registry import Registry
from providers.local.validation import operation, validate_request

log = logging.getLogger("smstate.local")

TARGET_PREFIX = "SageMaker."

#: Deepest nesting of objects and arrays a request body may have.
MAX_DEPTH = 32


class ControlPlane:
    """Turns one control-plane request into a JSON response or an `ApiError`."""

    def __init__(self, registry: Registry, endpoints: Endpoints) -> None:
        self.registry = registry
        self.endpoints = endpoints

    async def handle(self, target: str | None, body: bytes, authorization: str | None) -> bytes:
        if target and target.startswith(tagging.TARGET_PREFIX):
            return tagging.handle(self.registry, target, body, authorization)
        name = target[len(TARGET_PREFIX) :] if target and target.startswith(TARGET_PREFIX) else None
        handler = OPERATIONS.get(name or "")
        model = operation(name) if name and handler else None
        if name is None or handler is None or model is None:
            shown = target or "(no X-Amz-Target header)"
            raise ApiError("UnknownOperationException", f"The local SageMaker does not implement {shown}.")
        params = _parse(body)
        validate_request(model, params)
        context = Context(self.registry, self.endpoints, arns.region_of(authorization))
        try:
            result = await handler(context, params)
        except ApiError:
            raise
        except Exception as exc:
            log.exception("%s failed", name)
            raise internal(f"{name} failed inside the local server: {exc}") from exc
        return json.dumps(result).encode()


def _parse(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        params = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("SerializationException", f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep() from None
    if _deeper_than(params, MAX_DEPTH):
        raise _too_deep()
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    return params


def _not_json(constant: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON: no AWS client sends them."""
    raise ValueError(f"{constant} is not a JSON value")


def _too_deep() -> ApiError:
    return ApiError("SerializationException", f"The request body nests deeper than {MAX_DEPTH} levels.")


def _deeper_than(value: Any, limit: int) -> bool:
    """True if `value` nests more than `limit` containers deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False

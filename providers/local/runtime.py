"""The sagemaker-runtime `InvokeEndpoint` gateway: the hot path.

One request is: find the endpoint's router, let it pick a fleet (by variant
weight, or the `X-Amzn-SageMaker-Target-Variant`), hand the body to the next
instance of that fleet, and pass the answer back with
`x-Amzn-Invoked-Production-Variant`. Nothing is logged and nothing is copied on
the way; a request costs a dict lookup, a random draw and a round-robin step
before it reaches the model server.

A `TargetModel` goes to a multi-model instance (`target_models` words the
refusals); once the answer is in hand, `traffic` captures it and sends the shadow
copies, never holding up the caller.

Errors are those of sagemaker-runtime: an unknown endpoint or variant, or an
endpoint that is not serving, is a `ValidationError` (400); a model server that
answers with a non-2xx status, or cannot be reached, is a `ModelError` (424)
carrying `OriginalStatusCode` and `OriginalMessage`.
"""

from __future__ import annotations

from providers.local.capture import Exchange
from providers.local.errors import ApiError, runtime_validation
from providers.local.fleet import Fleet
from providers.local.lifecycle import Endpoints
from providers.local.registry import Kind, key_of
from providers.local.router import Router
from providers.local.settings import ACCOUNT_ID
from providers.local.target_models import check_target_model, target_model_error
from providers.local.traffic import Traffic

#: The inference toolkit's default when a request names no content type.
DEFAULT_CONTENT_TYPE = "application/json"

Headers = list[tuple[bytes, bytes]]


class Gateway:
    """Routes invocations to the endpoints' live fleets."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.routers = endpoints.routers
        self.traffic = Traffic()

    async def invoke(
        self,
        endpoint: str,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        target_variant: str | None,
        custom_attributes: str | None,
        target_model: str | None = None,
        inference_id: str | None = None,
    ) -> tuple[Headers, bytes]:
        router, fleet = self.route(endpoint, target_variant)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        check_target_model(endpoint, fleet.model, target_model)
        try:
            result = await fleet.invoke(body, content_type, accept, custom_attributes, target_model)
        except Exception as exc:
            unreachable = _model_error(fleet.variant, 500, f"The model server could not be reached: {exc}")
            raise target_model_error(exc) or unreachable from None
        status = result.status
        if status < 200 or status > 299:
            raise _model_error(fleet.variant, status, result.body.decode("utf-8", "replace"))
        response_type = result.content_type or accept or DEFAULT_CONTENT_TYPE
        headers = [
            (b"content-type", response_type.encode()),
            (b"x-amzn-invoked-production-variant", fleet.variant_header),
        ]
        if result.custom_attributes:
            headers.append((b"x-amzn-sagemaker-custom-attributes", result.custom_attributes.encode()))
        exchange = Exchange(body, content_type, result.body, response_type, inference_id)
        self.traffic.after(endpoint, router, fleet, exchange, accept, custom_attributes)
        return headers, result.body

    def route(self, endpoint: str, target_variant: str | None) -> tuple[Router, Fleet]:
        """The endpoint's router and the fleet it picked for one request."""
        router = self.routers.get(endpoint) or self.routers.get(key_of(endpoint))
        if router is None:
            raise self._not_serving(endpoint)
        fleet = router.select(target_variant)
        if fleet is None:
            if target_variant is not None and not router.knows_variant(target_variant):
                raise runtime_validation(f"Variant {target_variant} of endpoint {endpoint} not found.")
            raise runtime_validation(f"Endpoint {endpoint} has no instance in service to take the request.")
        return router, fleet

    def _not_serving(self, endpoint: str) -> ApiError:
        record = self.endpoints.registry.get(Kind.ENDPOINT, key_of(endpoint))
        if record is None:
            return runtime_validation(f"Endpoint {endpoint} of account {ACCOUNT_ID} not found.")
        status = record["describe"]["EndpointStatus"]
        return runtime_validation(f"Endpoint {endpoint} of account {ACCOUNT_ID} is not in service (status {status}).")


def _model_error(variant: str, status: int, message: str) -> ApiError:
    side = "client" if 400 <= status < 500 else "server"
    return ApiError(
        "ModelError",
        f'Received {side} error ({status}) from {variant} with message "{message}". '
        "See the local server's log for more information.",
        status=424,
        ErrorCode=f"{side.upper()}_ERROR_FROM_MODEL",
        OriginalStatusCode=status,
        OriginalMessage=message,
    )

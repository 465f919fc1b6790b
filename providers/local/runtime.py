"""The sagemaker-runtime `InvokeEndpoint` gateway: the hot path.

One request is: find the endpoint's router, let it pick a fleet (by variant
weight, or the `X-Amzn-SageMaker-Target-Variant`), hand the body to the next
instance of that fleet, and pass the answer back with
`x-Amzn-Invoked-Production-Variant`. Nothing is logged and nothing is copied on
the way; a request costs a dict lookup, a random draw and a round-robin step
before it reaches the model server.

Errors are those of sagemaker-runtime: an unknown endpoint or variant, an
endpoint that is not serving, or an asynchronous endpoint (which takes
InvokeEndpointAsync only, as on SageMaker), is a `ValidationError` (400); a model
server that answers with a non-2xx status, or cannot be reached, is a `ModelError`
(424) carrying `OriginalStatusCode`, `OriginalMessage` and `LogStreamArn`. Every
answer carries `x-amzn-RequestId` (set by the app).

A `TargetModel` goes to a multi-model instance (`target_models` words the
refusals); once the answer is in hand, `traffic` captures it and sends the shadow
copies, never holding up the caller.
"""

from __future__ import annotations

import time

from providers.local.async_inference import AsyncInference, AsyncRequest
from providers.local.capture import Exchange
from providers.local.errors import ApiError, runtime_validation
from providers.local.fleet import Fleet
from providers.local.lifecycle import Endpoints
from providers.local.metrics import Metrics
from providers.local.registry import Table, key_of
from providers.local.router import Router
from providers.local.settings import ACCOUNT_ID, DEFAULT_REGION
from providers.local.target_models import check_target_model, target_model_error
from providers.local.traffic import Traffic

#: The inference toolkit's default when a request names no content type.
DEFAULT_CONTENT_TYPE = "application/json"

Headers = list[tuple[bytes, bytes]]


class Gateway:
    """Routes invocations to the endpoints' live fleets."""

    def __init__(self, endpoints: Endpoints, metrics: Metrics | None = None) -> None:
        self.endpoints = endpoints
        self.routers = endpoints.routers
        self.metrics = metrics
        self.queue = AsyncInference(endpoints, endpoints.registry.root.parent / "async-notifications.jsonl")
        self.traffic = Traffic()

    async def invoke(
        self,
        endpoint: str,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        target_variant: str | None,
        custom_attributes: str | None,
        component: str | None = None,
        target_model: str | None = None,
        inference_id: str | None = None,
    ) -> tuple[Headers, bytes]:
        started = time.perf_counter()
        router, fleet = self.route(endpoint, target_variant, component)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        check_target_model(endpoint, fleet.model, target_model)
        model_started = time.perf_counter()
        try:
            result = await (fleet.gate or fleet).invoke(body, content_type, accept, custom_attributes, target_model)
        except ApiError:
            raise
        except Exception as exc:
            self._publish(endpoint, fleet, 0, started, model_started, component)
            unreachable = _model_error(endpoint, fleet, 500, f"The model server could not be reached: {exc}")
            raise target_model_error(exc) or unreachable from None
        status = result.status
        self._publish(endpoint, fleet, status, started, model_started, component)
        if status < 200 or status > 299:
            raise _model_error(endpoint, fleet, status, result.body.decode("utf-8", "replace"))
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

    def route(self, endpoint: str, target_variant: str | None, component: str | None = None) -> tuple[Router, Fleet]:
        """The endpoint's router and the fleet it picked for one request."""
        router = self.routers.get(endpoint) or self.routers.get(key_of(endpoint))
        if router is None:
            raise self._not_serving(endpoint)
        if "AsyncInferenceConfig" in router.active.snapshot["config"]:
            raise runtime_validation(
                f"Endpoint {endpoint} of account {ACCOUNT_ID} is an asynchronous inference endpoint; "
                "invoke it with InvokeEndpointAsync."
            )
        fleet: Fleet | None
        if component is not None or not router.active.fleets:
            fleet = self._component_fleet(endpoint, component)
        else:
            fleet = router.select(target_variant)
        if fleet is None:
            if target_variant is not None and not router.knows_variant(target_variant):
                raise runtime_validation(f"Variant {target_variant} of endpoint {endpoint} not found.")
            raise runtime_validation(f"Endpoint {endpoint} has no instance in service to take the request.")
        return router, fleet

    def _component_fleet(self, endpoint: str, component: str | None) -> Fleet:
        """The copies a request naming an inference component goes to (see `components`)."""
        if component is None:
            raise runtime_validation(
                "Inference Component Name header is required for endpoints to which you plan to deploy "
                "inference components. Please include Inference Component Name header or consider using SageMaker models."
            )
        record = self.endpoints.components.record(component)
        if record is None or key_of(record["describe"]["EndpointName"]) != key_of(endpoint):
            raise runtime_validation(f"Inference Component {component} not found for endpoint {endpoint}.")
        fleet = self.endpoints.components.pick(component)
        if fleet is None:
            status = record["describe"]["InferenceComponentStatus"]
            raise runtime_validation(f"Inference Component {component} has no copy in service (status {status}).")
        return fleet

    def _publish(
        self, endpoint: str, fleet: Fleet, status: int, started: float, model_started: float, component: str | None
    ) -> None:
        """The AWS/SageMaker metrics of one answered request (latencies in microseconds, as AWS),
        per variant and, when it named an inference component, per component."""
        if self.metrics is None:
            return
        now = time.perf_counter()
        model_us = (now - model_started) * 1e6
        overhead_us = (model_started - started) * 1e6
        if component is None:
            self.metrics.invocation(endpoint, fleet.variant, fleet.size, status, model_us, overhead_us)
            return
        record = self.endpoints.components.record(component)
        if record is None:  # deleted while the request was in flight
            return
        described = record["describe"]
        endpoint, variant = described["EndpointName"], described["VariantName"]
        instances = self.endpoints.components.instance_count(endpoint, variant)
        copies = (described["InferenceComponentName"], self.endpoints.components.copies(component))
        self.metrics.invocation(endpoint, variant, instances, status, model_us, overhead_us, copies)

    def invoke_async(self, request: AsyncRequest) -> dict[str, str]:
        """InvokeEndpointAsync: queue `request` (see `async_inference`); where its result will be."""
        if self.routers.get(key_of(request.endpoint)) is None:
            raise self._not_serving(request.endpoint)
        return self.queue.submit(request)

    def _not_serving(self, endpoint: str) -> ApiError:
        record = self.endpoints.registry.get(Table.ENDPOINT, key_of(endpoint))
        if record is None:
            return runtime_validation(f"Endpoint {endpoint} of account {ACCOUNT_ID} not found.")
        status = record["describe"]["EndpointStatus"]
        return runtime_validation(f"Endpoint {endpoint} of account {ACCOUNT_ID} is not in service (status {status}).")


def _model_error(endpoint: str, fleet: Fleet, status: int, message: str) -> ApiError:
    """SageMaker's ModelError, worded as SageMaker words it: the container that answered
    (`primary` for a model's PrimaryContainer) and where its logs are in CloudWatch, with
    the log group its model servers write to (`LogStreamArn`); here their logs are the
    local server's."""
    side = "client" if 400 <= status < 500 else "server"
    source = "primary" if "PrimaryContainer" in fleet.model else fleet.variant
    log_group = f"arn:aws:logs:{DEFAULT_REGION}:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{endpoint}"
    logs = (
        f"https://{DEFAULT_REGION}.console.aws.amazon.com/cloudwatch/home?region={DEFAULT_REGION}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
    )
    return ApiError(
        "ModelError",
        f'Received {side} error ({status}) from {source} with message "{message}". '
        f"See {logs} in account {ACCOUNT_ID} for more information.",
        status=424,
        ErrorCode=f"{side.upper()}_ERROR_FROM_MODEL",
        OriginalStatusCode=status,
        OriginalMessage=message,
        LogStreamArn=log_group,
    )

"""Asynchronous inference: InvokeEndpointAsync on endpoints with an AsyncInferenceConfig.

As on SageMaker: the call answers 202 at once with the InferenceId and the S3
locations its result will be written to; the request is queued; the input is read
from `InputLocation` in S3 (or sent inline as the request's `Body`, at most
`INLINE_LIMIT` bytes); the model's answer is written to
`<S3OutputPath>[/<S3OutputPathExtension>]/<InferenceId>.out` (or `Filename`), and a
failure (the model's error, an unreadable input, an expired request) to
`<S3FailurePath>/<InferenceId>-error.out` (the output path when there is no failure
path). At most `MaxConcurrentInvocationsPerInstance` requests per instance run at
once (`DEFAULT_CONCURRENCY` when the config names none); the others wait their turn,
for at most `RequestTTLSeconds`; a request runs for at most `InvocationTimeoutSeconds`
(though a model server's single answer is bounded by the hosting layer's own timeout).

The success and error SNS topics are not published to: each notification SageMaker
would send (its message in SageMaker's format, with the response when
`IncludeInferenceResponseIn` names the topic and it is at most 128 KiB) is appended
to `<home>/async-notifications.jsonl` and logged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from providers.local import s3
from providers.local.errors import ApiError, runtime_validation
from providers.local.lifecycle import Endpoints
from providers.local.registry import key_of
from providers.local.settings import ACCOUNT_ID, DEFAULT_REGION

log = logging.getLogger("smstate.local")

DEFAULT_CONCURRENCY = 4
#: Largest inline `Body` (botocore's model: AsyncBodyBlob).
INLINE_LIMIT = 128_000
#: Largest response a notification includes (`IncludeInferenceResponseIn`), as on SageMaker.
INCLUDED_RESPONSE_LIMIT = 128 * 1024
#: RequestTTLSeconds and InvocationTimeoutSeconds when the request names none (SageMaker's defaults).
DEFAULT_TTL = 6 * 3600
DEFAULT_TIMEOUT = 900


@dataclass(frozen=True)
class AsyncRequest:
    """One InvokeEndpointAsync call, as its headers gave it."""

    endpoint: str
    input_location: str | None
    body: bytes | None = None
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    inference_id: str | None = None
    extension: str | None = None
    filename: str | None = None
    ttl: float = DEFAULT_TTL
    timeout: float = DEFAULT_TIMEOUT


def from_headers(endpoint: str, headers: dict[str, str], body: bytes = b"") -> AsyncRequest:
    """The request InvokeEndpointAsync's headers (names lower-cased) and body describe: the input
    is either in S3 (`InputLocation`) or inline (`Body`), exactly one of them."""
    prefix = "x-amzn-sagemaker-"
    location = headers.get(prefix + "inputlocation")
    if location and body:
        raise runtime_validation("Body and InputLocation are mutually exclusive. Provide exactly one of them.")
    if not location and not body:
        raise runtime_validation("1 validation error detected: Value null at 'inputLocation' failed to satisfy "
                                 "constraint: Member must not be null")  # fmt: skip
    if len(body) > INLINE_LIMIT:
        raise runtime_validation("1 validation error detected: Value at 'body' failed to satisfy constraint: "
                                 f"Member must have length less than or equal to {INLINE_LIMIT}")  # fmt: skip
    return AsyncRequest(
        endpoint=endpoint,
        input_location=location or None,
        body=body or None,
        content_type=headers.get(prefix + "content-type"),
        accept=headers.get(prefix + "accept"),
        custom_attributes=headers.get(prefix + "custom-attributes"),
        inference_id=headers.get(prefix + "inference-id"),
        extension=headers.get(prefix + "s3outputpathextension"),
        filename=headers.get(prefix + "filename"),
        ttl=_seconds("RequestTTLSeconds", headers.get(prefix + "requestttlseconds"), DEFAULT_TTL),
        timeout=_seconds("InvocationTimeoutSeconds", headers.get(prefix + "invocationtimeoutseconds"), DEFAULT_TIMEOUT),
    )


def _seconds(member: str, raw: str | None, default: int) -> int:
    """A whole number of seconds within the range botocore's model gives `member`."""
    if raw is None:
        return default
    shape = _input_shape().members[member]
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
    path = member[:1].lower() + member[1:]
    if not raw.strip().isdigit():
        raise _invalid(raw, path, "Member must be a whole number")
    value = int(raw)
    if value < low:
        raise _invalid(raw, path, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        raise _invalid(raw, path, f"Member must have value less than or equal to {high}")
    return value


def _invalid(raw: str, path: str, constraint: str) -> ApiError:
    return runtime_validation(
        f"1 validation error detected: Value '{raw}' at '{path}' failed to satisfy constraint: {constraint}"
    )


@lru_cache(maxsize=1)
def _input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    return model.operation_model("InvokeEndpointAsync").input_shape


def async_config(endpoints: Endpoints, endpoint: str) -> dict[str, Any] | None:
    """The AsyncInferenceConfig the endpoint serves with, or None (also when it is not serving)."""
    router = endpoints.routers.get(key_of(endpoint))
    if router is None:
        return None
    config: dict[str, Any] | None = router.active.snapshot["config"].get("AsyncInferenceConfig")
    return config


class AsyncInference:
    """The queue of asynchronous requests of every endpoint."""

    def __init__(self, endpoints: Endpoints, notifications: Path) -> None:
        self.endpoints = endpoints
        self.notifications = notifications
        self._slots: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, request: AsyncRequest) -> dict[str, str]:
        """Queue `request`; the InferenceId and the result's locations."""
        config = async_config(self.endpoints, request.endpoint)
        if config is None:
            raise runtime_validation(
                f"Endpoint {request.endpoint} of account {ACCOUNT_ID} is not an asynchronous inference endpoint; "
                "invoke it with InvokeEndpoint."
            )
        if request.input_location is not None and not request.input_location.startswith("s3://"):
            raise runtime_validation(f"InputLocation must be an s3:// URI, got {request.input_location!r}.")
        inference_id = request.inference_id or str(uuid.uuid4())
        output, failure = _locations(config["OutputConfig"], request, inference_id)
        received = time.time()
        task = asyncio.get_running_loop().create_task(self._run(request, config, inference_id, output, failure, received))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"InferenceId": inference_id, "OutputLocation": output, "FailureLocation": failure}

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _semaphore(self, endpoint: str, config: dict[str, Any]) -> asyncio.Semaphore:
        per_instance = (config.get("ClientConfig") or {}).get("MaxConcurrentInvocationsPerInstance")
        router = self.endpoints.routers[key_of(endpoint)]
        limit = int(per_instance or DEFAULT_CONCURRENCY) * max(1, router.active.size)
        known = self._slots.get(key_of(endpoint))
        if known is None or known[0] != limit:
            known = (limit, asyncio.Semaphore(limit))
            self._slots[key_of(endpoint)] = known
        return known[1]

    async def _run(
        self, request: AsyncRequest, config: dict[str, Any], inference_id: str, output: str, failure: str,
        received: float,
    ) -> None:  # fmt: skip
        async with self._semaphore(request.endpoint, config):
            try:
                if time.time() - received > request.ttl:
                    raise ApiError("ValidationError", f"The request expired after {request.ttl:g} s in the queue.")
                result = await self._invoke(request)
                await asyncio.to_thread(s3.put_object, output, result[1], result[0])
                self._notify(config, request, inference_id, received, output, None, result[1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                log.warning("async inference %s on %s failed: %s", inference_id, request.endpoint, message)
                try:
                    await asyncio.to_thread(s3.put_object, failure, message.encode(), "text/plain")
                except s3.S3Error as written:
                    log.error("async inference %s: cannot write the failure: %s", inference_id, written)
                self._notify(config, request, inference_id, received, None, message, message.encode())

    async def _invoke(self, request: AsyncRequest) -> tuple[str, bytes]:
        """The model's answer (content type, body), or an ApiError saying why there is none."""
        body = request.body
        if body is None:
            body = await asyncio.to_thread(s3.get_object, str(request.input_location))
        router = self.endpoints.routers.get(key_of(request.endpoint))
        fleet = router.select(None) if router is not None else None
        if fleet is None:
            raise ApiError("ValidationError", f"Endpoint {request.endpoint} has no instance in service.")
        content_type = request.content_type or "application/json"
        try:
            result = await asyncio.wait_for(
                fleet.invoke(body, content_type, request.accept, request.custom_attributes), request.timeout
            )
        except TimeoutError:
            raise ApiError("ModelError", f"The model did not answer within {request.timeout:g} s.") from None
        if not 200 <= result.status < 300:
            raise ApiError("ModelError", result.body.decode("utf-8", "replace"))
        return result.content_type or request.accept or content_type, result.body

    def _notify(
        self, config: dict[str, Any], request: AsyncRequest, inference_id: str, received: float,
        output: str | None, error: str | None, body: bytes,
    ) -> None:  # fmt: skip
        topics = (config["OutputConfig"].get("NotificationConfig") or {})
        topic = topics.get("SuccessTopic" if error is None else "ErrorTopic")
        if not topic:
            return
        message = notification(request, inference_id, received, output, error)
        included = "SUCCESS_NOTIFICATION_TOPIC" if error is None else "ERROR_NOTIFICATION_TOPIC"
        if included in (topics.get("IncludeInferenceResponseIn") or []) and len(body) <= INCLUDED_RESPONSE_LIMIT:
            message["responseBody"] = {"content": base64.b64encode(body).decode(), "encoding": "BASE64"}
        log.info("async inference %s: notification to %s", inference_id, topic)
        with self.notifications.open("a") as handle:
            handle.write(json.dumps({"TopicArn": topic, "Message": message}) + "\n")


def _locations(output_config: dict[str, Any], request: AsyncRequest, inference_id: str) -> tuple[str, str]:
    base = output_config["S3OutputPath"].rstrip("/")
    if request.extension:
        base = f"{base}/{request.extension.strip('/')}"
    name = request.filename or f"{inference_id}.out"
    failure_base = (output_config.get("S3FailurePath") or base).rstrip("/")
    return f"{base}/{name}", f"{failure_base}/{inference_id}-error.out"


def notification(
    request: AsyncRequest, inference_id: str, received: float, output: str | None, error: str | None
) -> dict[str, Any]:
    """The SNS message SageMaker sends when an asynchronous inference ends."""
    response: dict[str, Any] = {"contentType": request.accept or request.content_type or "application/json"}
    if output is not None:
        response["outputLocation"] = output
    parameters = {"contentType": request.content_type or "application/json", "endpointName": request.endpoint}
    if request.input_location is not None:
        parameters["inputLocation"] = request.input_location
    message: dict[str, Any] = {
        "awsRegion": DEFAULT_REGION,
        "eventTime": _iso(time.time()),
        "receivedTime": _iso(received),
        "invocationStatus": "Completed" if error is None else "Failed",
        "requestParameters": parameters,
        "responseParameters": response,
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if error is not None:
        message["failureReason"] = error
    return message


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

"""InvokeEndpointWithResponseStream: the model's chunks relayed as event-stream events.

As on SageMaker, a refusal before the model answers is an ordinary error response
(ValidationError, ModelError with the model's status), and once the stream has
started each chunk the model yields becomes one `PayloadPart` event, sent as soon
as it arrives. A stream that breaks afterwards ends with a `ModelStreamError`
event (`StreamBroken`, or `ModelInvocationTimeExceeded` past the invocation
timeout); any other failure with `InternalStreamFailure`. The response carries the
model's content type in `X-Amzn-SageMaker-Content-Type`. Completed streams are
captured and mirrored to shadow variants like other invocations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from providers.local import eventstream
from providers.local.capture import Exchange
from providers.local.hosting.instance import INVOCATION_TIMEOUT_SECONDS
from providers.local.hosting.multi_model import is_multi_model
from providers.local.hosting.streaming import StreamBroken, Streamed, open_stream
from providers.local.runtime import DEFAULT_CONTENT_TYPE, Gateway, _model_error
from providers.local.target_models import missing_target_model

log = logging.getLogger("smstate.local")

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def stream_response(
    gateway: Gateway, send: Send, endpoint: str, body: bytes, headers: dict[str, str | None]
) -> None:
    """Answer one InvokeEndpointWithResponseStream (`headers`: the request's, by meaning)."""
    router, fleet = gateway.route(endpoint, headers["target_variant"])
    if is_multi_model(fleet.model):  # the stream API has no TargetModel
        raise missing_target_model()
    content_type = headers["content_type"] or DEFAULT_CONTENT_TYPE
    attributes = headers["custom_attributes"]
    async with fleet.lease() as instance:
        try:
            streamed = await open_stream(
                instance, body, content_type, headers["accept"], attributes, INVOCATION_TIMEOUT_SECONDS
            )
        except Exception as exc:
            raise _model_error(endpoint, fleet, 500, f"The model server could not be reached: {exc}") from None
        if not 200 <= streamed.status < 300:
            answer = await streamed.read()
            raise _model_error(endpoint, fleet, streamed.status, answer.decode("utf-8", "replace"))
        head = [
            (b"content-type", eventstream.CONTENT_TYPE),
            (b"x-amzn-sagemaker-content-type", streamed.content_type.encode("latin-1")),
            (b"x-amzn-invoked-production-variant", fleet.variant_header),
        ]
        returned = streamed.headers.get("x-amzn-sagemaker-custom-attributes")
        if returned:
            head.append((b"x-amzn-sagemaker-custom-attributes", returned.encode("latin-1")))
        await send({"type": "http.response.start", "status": 200, "headers": head})
        relayed = await _relay(streamed, send, fleet.variant)
    if relayed is not None:
        exchange = Exchange(body, content_type, relayed, streamed.content_type, headers["inference_id"])
        gateway.traffic.after(endpoint, router, fleet, exchange, headers["accept"], attributes)


async def _relay(streamed: Streamed, send: Send, variant: str) -> bytes | None:
    """Send each chunk as a PayloadPart; the whole answer, or None if the stream failed."""
    parts: list[bytes] = []
    failure: bytes | None = None
    try:
        async with asyncio.timeout(INVOCATION_TIMEOUT_SECONDS):
            async for chunk in streamed.chunks():
                parts.append(chunk)
                await send({"type": "http.response.body", "body": eventstream.event("PayloadPart", chunk),
                            "more_body": True})
    except StreamBroken as exc:
        failure = _stream_error("StreamBroken", f"The model's response stream broke: {exc}")
    except TimeoutError:
        failure = _stream_error(
            "ModelInvocationTimeExceeded",
            f"Your model {variant} did not complete sending the inference response in the allotted time.",
        )
    except OSError:  # the client went away: nobody to tell
        streamed.close()
        return None
    except Exception:
        log.exception("streaming a response failed")
        failure = eventstream.exception("InternalStreamFailure", {"Message": "The stream processing failed."})
    streamed.close()
    await send({"type": "http.response.body", "body": failure or b""})
    return None if failure else b"".join(parts)


def _stream_error(code: str, message: str) -> bytes:
    return eventstream.exception("ModelStreamError", {"Message": message, "ErrorCode": code})

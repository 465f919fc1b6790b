"""The local SageMaker as one ASGI application.

Routes:
- `POST /` with `X-Amz-Target: SageMaker.<Operation>`: the control plane;
- `POST /endpoints/{name}/invocations`: the runtime (InvokeEndpoint);
- `POST /endpoints/{name}/invocations-response-stream`: InvokeEndpointWithResponseStream
  (`response_stream`);
- `GET /ping`: the server's own health, with what it runs on.

A plain ASGI callable rather than a framework: the invocation path is hot, and
each layer between the socket and the model server costs on every request.
Bodies are bounded (1 MiB for the control plane, 6 MiB for an invocation, as in
SageMaker); a larger one is read to the end and discarded, so the client gets
the 413 instead of a reset connection, and the connection stays usable. Any
failure becomes an AWS-shaped error response; the server keeps serving.
Who may connect, and for how long, is settled per connection before a request
reaches this app (`connections`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from providers.local.controlplane import ControlPlane
from providers.local.errors import (
    JSON_11,
    REST_JSON,
    ApiError,
    error_headers,
    internal,
    json11_body,
    rest_json_body,
    too_large,
)
from providers.local.response_stream import stream_response
from providers.local.runtime import Gateway

log = logging.getLogger("smstate.local")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CONTROL_LIMIT = 1024 * 1024
INVOKE_LIMIT = 6 * 1024 * 1024
#: Past this much, an oversized body is no longer read to its end.
DISCARD_LIMIT = 64 * 1024 * 1024

_PREFIX = "/endpoints/"
_SUFFIX = "/invocations"
_STREAM_SUFFIX = "/invocations-response-stream"


class ClientGone(Exception):
    """The client hung up before its request body arrived: nobody to answer."""


class App:
    """The ASGI entry point; `on_startup`/`on_shutdown` run in the lifespan."""

    def __init__(
        self,
        control: ControlPlane,
        gateway: Gateway,
        info: dict[str, Any],
        on_startup: Callable[[], Awaitable[None]],
        on_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        self.control = control
        self.gateway = gateway
        self.ping_body = json.dumps({"status": "Healthy", **info}).encode()
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                await self.invocation(path[len(_PREFIX) : -len(_SUFFIX)], scope, receive, send)
            elif path.startswith(_PREFIX) and path.endswith(_STREAM_SUFFIX):
                await self.invocation(path[len(_PREFIX) : -len(_STREAM_SUFFIX)], scope, receive, send, stream=True)
            elif path == "/" or path == "":
                await self.control_plane(scope, receive, send)
            elif path == "/ping":
                await _respond(send, 200, [(b"content-type", b"application/json")], self.ping_body)
            else:
                error = ApiError("UnknownOperationException", f"No route for {scope['method']} {path}.", 404)
                await _respond(send, 404, error_headers(error, REST_JSON), rest_json_body(error))
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def invocation(self, name: str, scope: Scope, receive: Receive, send: Send, stream: bool = False) -> None:
        """InvokeEndpoint, or InvokeEndpointWithResponseStream when `stream`."""
        content_type = accept = variant = attributes = target_model = inference_id = stream_accept = None
        length = 0
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"accept":
                accept = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-target-variant":
                variant = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-custom-attributes":
                attributes = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-target-model":
                target_model = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-inference-id":
                inference_id = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-accept":
                stream_accept = value.decode("latin-1")
            elif key == b"content-length":
                length = _length(value)
        try:
            if scope["method"] != "POST":
                raise ApiError("ValidationError", "InvokeEndpoint takes POST.", 405)
            body = await _read(receive, INVOKE_LIMIT, length)
            if stream:
                named = {"content_type": content_type, "accept": stream_accept, "target_variant": variant,
                         "custom_attributes": attributes, "inference_id": inference_id}  # fmt: skip
                await stream_response(self.gateway, send, name, body, named)
                return
            headers, payload = await self.gateway.invoke(
                name, body, content_type, accept, variant, attributes, target_model, inference_id
            )
        except ClientGone:
            return
        except ApiError as error:
            await _respond(send, error.status, error_headers(error, REST_JSON), rest_json_body(error))
            return
        except Exception as exc:
            log.exception("invocation of %s failed", name)
            failure = internal(str(exc))
            await _respond(send, 500, error_headers(failure, REST_JSON), rest_json_body(failure))
            return
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def control_plane(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = authorization = None
        length = 0
        for key, value in scope["headers"]:
            if key == b"x-amz-target":
                target = value.decode("latin-1")
            elif key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"content-length":
                length = _length(value)
        request_id = str(uuid.uuid4()).encode()
        try:
            if scope["method"] != "POST":
                raise ApiError("UnknownOperationException", "The control plane takes POST.", 405)
            body = await _read(receive, CONTROL_LIMIT, length)
            payload = await self.control.handle(target, body, authorization)
        except ClientGone:
            return
        except ApiError as error:
            headers = error_headers(error, JSON_11) + [(b"x-amzn-requestid", request_id)]
            await _respond(send, error.status, headers, json11_body(error))
            return
        except Exception:
            log.exception("control-plane request %s failed", target)
            failure = internal("The local server failed on this request; its log tells why.")
            headers = error_headers(failure, JSON_11) + [(b"x-amzn-requestid", request_id)]
            await _respond(send, 500, headers, json11_body(failure))
            return
        headers = [(b"content-type", JSON_11), (b"x-amzn-requestid", request_id)]
        await _respond(send, 200, headers, payload)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.on_startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _length(value: bytes) -> int:
    """A Content-Length header's value; 0 when it is not a plain number."""
    return int(value) if value.isdigit() and len(value) < 19 else 0


async def _read(receive: Receive, limit: int, declared: int) -> bytes:
    """The request body, or `too_large` once it is read (or is hopeless)."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone()
    body = message.get("body", b"")
    if not message.get("more_body") and declared <= limit and len(body) <= limit:
        return body
    if declared > DISCARD_LIMIT:
        raise too_large(limit)
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DISCARD_LIMIT:
            break
    if size > limit:
        raise too_large(limit)
    return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""The local SageMaker as one ASGI application.

Routes:
- `POST /` with `X-Amz-Target: SageMaker.<Operation>`: the control plane;
- `POST /endpoints/{name}/invocations`: the runtime (InvokeEndpoint);
- `POST /endpoints/{name}/async-invocations`: InvokeEndpointAsync (`async_inference`);
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

from providers.local import arns
from providers.local.async_inference import from_headers
from providers.local.controlplane import ControlPlane
from providers.local.errors import (
    JSON_11,
    REST_JSON,
    TOO_LARGE,
    ApiError,
    error_headers,
    internal,
    json11_body,
    rest_json_body,
    too_large,
)
from providers.local.protocols import CBOR_PREFIX, Dispatcher, Wire, cbor_route
from providers.local.query import is_query
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
_ASYNC_SUFFIX = "/async-invocations"
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
        services: Dispatcher | None = None,
    ) -> None:
        self.services = services or Dispatcher([])
        self.control = control
        self.gateway = gateway
        self.ping_body = json.dumps({"status": "Healthy", **info}).encode()
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "http":
            path = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                await self.invocation(path[len(_PREFIX) : -len(_SUFFIX)], scope, receive, send)
            elif path.startswith(_PREFIX) and path.endswith(_ASYNC_SUFFIX):
                await self.async_invocation(path[len(_PREFIX) : -len(_ASYNC_SUFFIX)], scope, receive, send)
            elif path.startswith(_PREFIX) and path.endswith(_STREAM_SUFFIX):
                await self.invocation(path[len(_PREFIX) : -len(_STREAM_SUFFIX)], scope, receive, send, stream=True)
            elif path == "/" or path == "":
                await self.control_plane(scope, receive, send)
            elif path.startswith(CBOR_PREFIX):
                await self.service(Wire.CBOR, cbor_route(path), scope, receive, send)
            elif path == "/ping":
                await _respond(send, 200, [(b"content-type", b"application/json")], self.ping_body)
            else:
                error = ApiError("UnknownOperationException", f"No route for {scope['method']} {path}.", 404)
                await _respond(send, 404, error_headers(error, REST_JSON), rest_json_body(error))
        elif scope_type == "lifespan":
            await self.lifespan(receive, send)

    async def invocation(self, name: str, scope: Scope, receive: Receive, send: Send, stream: bool = False) -> None:
        """InvokeEndpoint, or InvokeEndpointWithResponseStream when `stream`."""
        asked = _headers(scope)
        content_type, accept = asked.get(b"content-type"), asked.get(b"accept")
        variant = asked.get(b"x-amzn-sagemaker-target-variant")
        attributes = asked.get(b"x-amzn-sagemaker-custom-attributes")
        length = _length(asked.get(b"content-length", ""))
        component = asked.get(b"x-amzn-sagemaker-inference-component")
        target_model = asked.get(b"x-amzn-sagemaker-target-model")
        inference_id = asked.get(b"x-amzn-sagemaker-inference-id")
        stream_accept = asked.get(b"x-amzn-sagemaker-accept")
        request_id = (b"x-amzn-requestid", str(uuid.uuid4()).encode())
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
                name, body, content_type, accept, variant, attributes, component, target_model, inference_id
            )
        except ClientGone:
            return
        except ApiError as error:
            await _respond(send, error.status, error_headers(error, REST_JSON) + [request_id], rest_json_body(error))
            return
        except Exception as exc:
            log.exception("invocation of %s failed", name)
            failure = internal(str(exc))
            await _respond(send, 500, error_headers(failure, REST_JSON) + [request_id], rest_json_body(failure))
            return
        headers.append(request_id)
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def async_invocation(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        """InvokeEndpointAsync: 202 with where the result will be (`async_inference`)."""
        fields = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        request_id = (b"x-amzn-requestid", str(uuid.uuid4()).encode())
        try:
            if scope["method"] != "POST":
                raise ApiError("ValidationError", "InvokeEndpointAsync takes POST.", 405)
            body = await _read(receive, CONTROL_LIMIT, _length(fields.get("content-length", "").encode()))
            answer = self.gateway.invoke_async(from_headers(name, fields, body))
        except ClientGone:
            return
        except ApiError as error:
            await _respond(send, error.status, error_headers(error, REST_JSON) + [request_id], rest_json_body(error))
            return
        headers = [
            (b"content-type", REST_JSON),
            request_id,
            (b"x-amzn-sagemaker-outputlocation", answer["OutputLocation"].encode()),
            (b"x-amzn-sagemaker-failurelocation", answer["FailureLocation"].encode()),
        ]
        await _respond(send, 202, headers, json.dumps({"InferenceId": answer["InferenceId"]}).encode())

    async def control_plane(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = _headers(scope)
        target, authorization = asked.get(b"x-amz-target"), asked.get(b"authorization")
        length = _length(asked.get(b"content-length", ""))
        request_id = str(uuid.uuid4()).encode()
        route = self.services.route(target)
        if route is not None:
            await self.service(None, route, scope, receive, send)
            return
        try:
            if scope["method"] != "POST":
                raise ApiError("UnknownOperationException", "The control plane takes POST.", 405)
            body = await _read(receive, CONTROL_LIMIT, length, TOO_LARGE)
            if target is None and is_query(None, body):  # a form: the query protocol (CloudWatch)
                status, headers, payload = await self.services.answer_query(body, arns.region_of(authorization))
                await _respond(send, status, headers + [(b"x-amzn-requestid", request_id)], payload)
                return
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

    async def service(
        self, wire: Wire | None, route: tuple[str, str] | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """A request to a service beyond SageMaker (`protocols`)."""
        headers = dict(scope["headers"])
        length = _length(headers.get(b"content-length", b""))
        region = arns.region_of(headers.get(b"authorization", b"").decode("latin-1"))
        try:
            body = await _read(receive, CONTROL_LIMIT, length)
            if route is None or scope["method"] != "POST":
                raise ApiError("UnknownOperationException", f"No route for {scope['method']} {scope['path']}.", 404)
            status, answer, payload = await self.services.answer(wire, route[0], route[1], body, region)
        except ClientGone:
            return
        except ApiError as error:
            await _respond(send, error.status, error_headers(error, REST_JSON), rest_json_body(error))
            return
        answer.append((b"x-amzn-requestid", str(uuid.uuid4()).encode()))
        await _respond(send, status, answer, payload)

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


def _headers(scope: Scope) -> dict[bytes, str]:
    """The request's headers by lower-case name (the last of a repeated one)."""
    return {key: value.decode("latin-1") for key, value in scope["headers"]}


def _length(value: str) -> int:
    """A Content-Length header's value; 0 when it is not a plain number."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else 0


async def _read(receive: Receive, limit: int, declared: int, code: str | None = None) -> bytes:
    """The request body, or `too_large` (with `code`) once it is read (or is hopeless)."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone()
    body = message.get("body", b"")
    if not message.get("more_body") and declared <= limit and len(body) <= limit:
        return body
    if declared > DISCARD_LIMIT:
        raise too_large(limit, code)
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
        raise too_large(limit, code)
    return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

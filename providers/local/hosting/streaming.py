"""Streamed answers from a model server: the chunks of a chunked response, as they arrive.

A model whose output function yields chunks answers with
`Transfer-Encoding: chunked`, one HTTP chunk per yielded piece (`model_server`).
A stream gets a connection of its own, closed when the stream ends, because it
may stay open far longer than a pooled request. A stream that ends without its
last chunk (the model raised, or its server died) raises `StreamBroken`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from providers.local.hosting.client import ContainerClient, _parse_head
from providers.local.hosting.errors import HostingError
from providers.local.hosting.instance import ATTRIBUTES_HEADER, ModelInstance


class StreamBroken(Exception):
    """The model server's answer ended before its last chunk."""


@dataclass
class Streamed:
    """The head of a streamed answer and the connection its chunks come over."""

    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader | None
    writer: asyncio.StreamWriter | None
    first: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream")

    async def chunks(self) -> AsyncIterator[bytes]:
        """Each chunk as the model produced it; the connection is closed at the end."""
        try:
            if self.first:
                yield self.first
            if self.reader is None:
                return
            if "content-length" in self.headers:
                yield await self.reader.readexactly(int(self.headers["content-length"]))
                return
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    return
                chunk = await self.reader.readexactly(size + 2)
                yield chunk[:-2]
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as exc:
            raise StreamBroken(str(exc) or type(exc).__name__) from None
        finally:
            self.close()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_stream(
    instance: Any, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
    timeout: float,
) -> Streamed:
    """Send a request through `instance`'s containers and stream the last one's answer."""
    if not isinstance(instance, ModelInstance):
        raise HostingError("only a single-model instance streams its answers")
    if len(instance.containers) > 1:  # an inference pipeline: all but the last answer whole
        head = await ModelInstance(instance.containers[:-1]).invoke(body, content_type, None, custom_attributes)
        if not 200 <= head.status < 300:
            return Streamed(head.status, {"content-type": head.content_type}, None, None, head.body)
        body, content_type = head.body, head.content_type
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    if custom_attributes:
        headers[ATTRIBUTES_HEADER] = custom_attributes
    return await _request(instance.containers[-1].client, body, headers, timeout)


async def _request(client: ContainerClient, body: bytes, headers: dict[str, str], timeout: float) -> Streamed:
    lines = ["POST /invocations HTTP/1.1", "Host: localhost", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    reader, writer = await client.open_connection()
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        async with asyncio.timeout(timeout):
            status, head = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    except BaseException:
        writer.close()
        raise
    return Streamed(status, head, reader, writer)

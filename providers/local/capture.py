"""Data capture: requests and responses written as SageMaker writes them.

An endpoint config's `DataCaptureConfig` asks for a share of the invocations
(`InitialSamplingPercentage`) to be recorded: the request, the response or both
(`CaptureOptions`), in JSON Lines under
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`, one event a line:

    {"captureData": {"endpointInput": {"observedContentType": ..., "mode": "INPUT",
                                       "data": ..., "encoding": "CSV|JSON|BASE64"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": ..., "inferenceId": ..., "inferenceTime": ...},
     "eventVersion": "0"}

Content types named in `CaptureContentTypeHeader` are kept as text (CSV or JSON);
everything else, and everything when no header is configured, is base64. Events
are buffered in memory and written off the hot path, every `FLUSH_SECONDS`, one
new object per hour folder and flush, as SageMaker does.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("smstate.local")

FLUSH_SECONDS = 1.0
#: Events kept in memory at most; past this, new ones are dropped (and counted).
MAX_PENDING = 100_000


@dataclass(frozen=True)
class Exchange:
    """One invocation as data capture sees it."""

    body: bytes
    content_type: str
    response: bytes
    response_type: str
    inference_id: str | None


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class Capture:
    """The capture of one endpoint config, for every variant it serves."""

    def __init__(self, endpoint: str, config: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.enabled = bool(config.get("EnableCapture", True))
        self.percentage = float(config.get("InitialSamplingPercentage", 0))
        self.destination = str(config["DestinationS3Uri"]).rstrip("/")
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
        self.inputs = bool(modes & {"Input", "InputAndOutput"})
        self.outputs = bool(modes & {"Output", "InputAndOutput"})
        headers = config.get("CaptureContentTypeHeader") or {}
        self.csv = {_media(t) for t in headers.get("CsvContentTypes") or []}
        self.json = {_media(t) for t in headers.get("JsonContentTypes") or []}
        self.dropped = 0
        self._pending: dict[str, list[str]] = {}
        self._count = 0
        self._flushing: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def sampled(self) -> bool:
        """Whether this invocation is one of the share to capture."""
        return self.enabled and random.random() * 100.0 < self.percentage

    def record(self, variant: str, exchange: Exchange) -> None:
        """Buffer one event for `variant`; written within `FLUSH_SECONDS`."""
        if self._count >= MAX_PENDING:
            self.dropped += 1
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        data: dict[str, Any] = {}
        if self.inputs:
            data["endpointInput"] = self._payload(exchange.body, exchange.content_type, "INPUT")
        if self.outputs:
            data["endpointOutput"] = self._payload(exchange.response, exchange.response_type, "OUTPUT")
        metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if exchange.inference_id:
            metadata["inferenceId"] = exchange.inference_id
        line = json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})
        folder = f"{self.destination}/{self.endpoint}/{variant}/{now:%Y/%m/%d/%H}"
        self._pending.setdefault(folder, []).append(line)
        self._count += 1
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush)

    def _payload(self, body: bytes, content_type: str, mode: str) -> dict[str, str]:
        media = _media(content_type)
        encoding = "CSV" if media in self.csv else "JSON" if media in self.json else "BASE64"
        if encoding != "BASE64":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                encoding = "BASE64"
        if encoding == "BASE64":
            text = base64.b64encode(body).decode("ascii")
        return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}

    async def flush(self) -> None:
        """Write what is buffered, and wait for the writes under way (the deployment stops)."""
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        pending, self._pending, self._count = self._pending, {}, 0
        await asyncio.gather(*self._writes, asyncio.to_thread(_write, pending), return_exceptions=True)

    def _flush(self) -> None:
        self._flushing = None
        pending, self._pending, self._count = self._pending, {}, 0
        if pending:
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(_write, pending))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)


def _write(pending: dict[str, list[str]]) -> None:
    from providers.local import s3

    now = datetime.datetime.now(datetime.timezone.utc)
    for folder, lines in pending.items():
        uri = f"{folder}/{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        try:
            s3.put_object(uri, ("\n".join(lines) + "\n").encode(), "application/jsonlines")
        except Exception as exc:  # capture never fails an invocation; the log says why
            log.warning("data capture could not write %s: %s", uri, exc)

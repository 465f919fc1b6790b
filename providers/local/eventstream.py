"""AWS event-stream framing (`application/vnd.amazon.eventstream`), the encoding side.

botocore decodes these messages for InvokeEndpointWithResponseStream; the local
server encodes them: a prelude (total length, headers length, CRC32 of both),
string-typed headers, the payload, and a CRC32 of the whole message.
"""

from __future__ import annotations

import json
import struct
import zlib

CONTENT_TYPE = b"application/vnd.amazon.eventstream"
_STRING = 7


def _header(name: str, value: str) -> bytes:
    key, text = name.encode(), value.encode()
    return struct.pack(">B", len(key)) + key + struct.pack(">BH", _STRING, len(text)) + text


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One encoded event-stream message."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    framed = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return framed + struct.pack(">I", zlib.crc32(framed))


def event(event_type: str, payload: bytes) -> bytes:
    """An event whose payload is raw bytes (as PayloadPart's `Bytes`)."""
    headers = {":event-type": event_type, ":content-type": "application/octet-stream", ":message-type": "event"}
    return message(headers, payload)


def exception(exception_type: str, fields: dict[str, str]) -> bytes:
    """A modeled exception event (ModelStreamError, InternalStreamFailure)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return message(headers, json.dumps(fields).encode())

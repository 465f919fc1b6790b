"""The event-stream encoder, checked by botocore's own decoder."""

from __future__ import annotations

import json

from botocore.eventstream import EventStreamBuffer

from providers.local import eventstream


def decode(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def test_events_and_exceptions_decode_with_their_headers_and_payloads() -> None:
    data = eventstream.event("PayloadPart", b"hello") + eventstream.exception(
        "ModelStreamError", {"Message": "broke", "ErrorCode": "StreamBroken"}
    )
    [(part_headers, part), (error_headers, error)] = decode(data)
    assert part_headers == {
        ":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event",
    }
    assert part == b"hello"
    assert error_headers[":message-type"] == "exception"
    assert error_headers[":exception-type"] == "ModelStreamError"
    assert json.loads(error) == {"Message": "broke", "ErrorCode": "StreamBroken"}


def test_an_empty_and_a_large_payload_survive_framing() -> None:
    big = bytes(range(256)) * 4096
    data = eventstream.event("PayloadPart", b"") + eventstream.event("PayloadPart", big)
    assert [payload for _, payload in decode(data)] == [b"", big]

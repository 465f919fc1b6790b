"""Errors the local server answers with, in the shapes AWS clients parse.

Every failure a request can meet becomes an `ApiError` carrying the AWS error
code, the HTTP status and a message; the app turns it into the wire shape of the
protocol that was spoken, so boto3 raises `ClientError` with the same
`Error.Code` it would get from AWS:

- control plane (JSON 1.1): body `{"__type": CODE, "message": ...}`;
- runtime (REST-JSON): body `{"message": ...}` plus the `x-amzn-ErrorType`
  header, which botocore's REST-JSON parser prefers.

An error with `code=None` mimics sagemaker-runtime's front door, which answers an
oversized body with a bare status: botocore then reports the status as the code
("413"). The control plane answers one in its JSON 1.1 error shape.
"""

from __future__ import annotations

import json
from typing import Any

JSON_11 = b"application/x-amz-json-1.1"
REST_JSON = b"application/json"


class ApiError(Exception):
    """A request the server refuses; never a crash."""

    def __init__(self, code: str | None, message: str | None, status: int = 400, **extra: Any) -> None:
        """`message=None`: the body's message is null, as in some AWS refusals."""
        super().__init__(message or code or "")
        self.code = code
        self.message = message or ""
        self.null_message = message is None
        self.status = status
        self.extra = extra


def validation(message: str) -> ApiError:
    """SageMaker's catch-all for bad input and missing objects alike."""
    return ApiError("ValidationException", message)


def conflict(message: str) -> ApiError:
    return ApiError("ConflictException", message)


def runtime_validation(message: str) -> ApiError:
    """sagemaker-runtime spells its validation error differently."""
    return ApiError("ValidationError", message)


def too_large(limit: int, code: str | None = None) -> ApiError:
    return ApiError(code, f"HTTP content length exceeded {limit} bytes.", status=413)


#: The control plane's code for a body over its limit.
TOO_LARGE = "RequestEntityTooLargeException"


def internal(message: str) -> ApiError:
    return ApiError("InternalFailure", message, status=500)


def json11_body(error: ApiError) -> bytes:
    payload: dict[str, Any] = {"message": None if error.null_message else error.message}
    if error.code:
        payload["__type"] = error.code
    payload.update(error.extra)
    return json.dumps(payload).encode()


def rest_json_body(error: ApiError) -> bytes:
    payload: dict[str, Any] = {"message": None if error.null_message else error.message}
    if error.extra:
        payload["Message"] = error.message
        payload.update(error.extra)
    return json.dumps(payload).encode()


def error_headers(error: ApiError, content_type: bytes) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", content_type)]
    if error.code:
        headers.append((b"x-amzn-errortype", error.code.encode()))
    return headers

"""Reading SageMaker's errors: which mean "not found", and turning the rest into ours."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from smstate.errors import ProviderError, RetryableError

_NOT_FOUND = re.compile(r"could not find|does not exist|not found|cannot find|no such", re.IGNORECASE)
_NOT_FOUND_CODES = ("ResourceNotFound", "ResourceNotFoundException", "ValidationException", "ValidationError")
_RETRYABLE = ("ThrottlingException", "Throttling", "ServiceUnavailable", "InternalFailure", "InternalServerError")


def is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in _NOT_FOUND_CODES and bool(_NOT_FOUND.search(error.get("Message") or ""))


def _one_line(message: str, limit: int = 300) -> str:
    """An error page from a proxy or a broken server becomes one readable line."""
    text = " ".join(re.sub(r"<[^>]*>", " ", message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def translate(exc: ClientError, what: str) -> ProviderError:
    """One readable line: the operation, the API's error code and its message.

    Transport failures never get here: every client turns them into one line naming the
    service and its URL (smstate.aws)."""
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Error"), _one_line(error.get("Message") or "")
    cls = RetryableError if code in _RETRYABLE else ProviderError
    return cls(f"{what}: {code}: {message}" if message else f"{what}: {code}")  # a throttle has no message

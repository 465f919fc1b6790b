"""The runtime's checks for multi-model endpoints, worded as sagemaker-runtime words them.

- `TargetModel` on an endpoint whose model is not `Mode: MultiModel` is refused:
  "Endpoint NAME is not a multi-model endpoint and does not support target model header."
- a multi-model endpoint invoked without `TargetModel` is refused: "Request ID is
  missing a target model header."
- a target model with no artifact under the prefix is refused: "Failed to download
  model data(bucket: B, key: K). ..." (for a local prefix, the path is named).
"""

from __future__ import annotations

import uuid
from typing import Any

from providers.local.errors import ApiError
from providers.local.hosting.multi_model import TargetModelMissing, TargetModelRequired, is_multi_model


def check_target_model(endpoint: str, model: dict[str, Any], target_model: str | None) -> None:
    if target_model is not None and not is_multi_model(model):
        raise ApiError(
            "ValidationError",
            f"Endpoint {endpoint} is not a multi-model endpoint and does not support target model header.",
            ErrorCode="TARGET_MODEL_HEADER_NOT_SUPPORTED",
        )


def missing_target_model() -> ApiError:
    """A multi-model endpoint invoked without naming its model (also: a response stream,
    which has no `TargetModel`)."""
    return ApiError("ValidationError", f"Request {uuid.uuid4()} is missing a target model header.")


def target_model_error(exc: Exception) -> ApiError | None:
    """The runtime error for a hosting failure of a target model, or None if it is not one."""
    if isinstance(exc, TargetModelRequired):
        return missing_target_model()
    if isinstance(exc, TargetModelMissing):
        url = str(exc)
        if url.startswith("s3://"):
            bucket, _, key = url[len("s3://") :].partition("/")
            where = f"bucket: {bucket}, key: {key}"
        else:
            where = f"path: {url}"
        return ApiError(
            "ValidationError",
            f"Failed to download model data({where}). Please ensure that there is an object located at "
            "the URL and that the role passed to CreateModel has permissions to download the model.",
        )
    return None

"""The boto3 provider: real SageMaker, or any server that speaks its API (moto, the local target)."""

from __future__ import annotations

from typing import Any

from .provider import AwsProvider


def make_provider(settings: Any, base_dir: str) -> AwsProvider:
    """Entry point `smstate.providers:aws`."""
    return AwsProvider(
        region=settings.region,
        profile=settings.profile,
        endpoint_url=settings.endpoint_url,
        artifact_bucket=settings.artifact_bucket,
        retry_mode=settings.retry_mode,
        max_attempts=settings.max_attempts,
    )


__all__ = ["AwsProvider", "make_provider"]

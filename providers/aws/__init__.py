"""The boto3 provider: real SageMaker, or any server that speaks its API (moto, the local target)."""

from __future__ import annotations

from typing import Any

from smstate.aws import AwsSettings

from .provider import AwsProvider

POOL_SIZE = 32
"""Connections per client: apply runs up to --parallelism operations at once, polls included."""


def make_provider(settings: Any, base_dir: str) -> AwsProvider:
    """Entry point `smstate.providers:aws`."""
    aws = AwsSettings(
        region=settings.region,
        profile=settings.profile,
        endpoint_url=settings.endpoint_url,
        endpoints=dict(settings.endpoints),
        retry_mode=settings.retry_mode,
        max_attempts=settings.max_attempts,
        pool_size=POOL_SIZE,
    )
    return AwsProvider(aws, artifact_bucket=settings.artifact_bucket)


__all__ = ["AwsProvider", "make_provider"]

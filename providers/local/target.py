"""The `local` target: the boto3 provider pointed at the embedded local SageMaker.

The server is started in the background when nothing answers at `provider.url`. It needs
no AWS account: requests are signed with placeholder credentials, which it does not check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from providers.aws import POOL_SIZE
from providers.aws.provider import AwsProvider
from smstate.aws import AwsSettings
from smstate.errors import ProviderError

LOCAL_POLL = (0.1, 0.5)
"""Endpoints here come up in seconds, and a poll is a loopback call: poll closely, so an
endpoint is seen InService within half a second of getting there."""
PLACEHOLDER_CREDENTIALS = {"aws_access_key_id": "smstate-local", "aws_secret_access_key": "smstate-local"}


def make_provider(settings: Any, base_dir: str) -> AwsProvider:
    """Entry point `smstate.providers:local`."""
    from . import daemon

    home = Path(settings.home).expanduser() if settings.home else None
    try:
        daemon.ensure_running(
            settings.url, home, runtime=settings.runtime, python=settings.python,
            s3_endpoint_url=settings.s3_endpoint_url,
        )  # fmt: skip
    except (daemon.DaemonError, ValueError) as exc:
        raise ProviderError(f"local SageMaker at {settings.url}: {exc}") from None
    aws = AwsSettings(
        region="us-east-1",
        endpoint_url=settings.url,
        credentials=PLACEHOLDER_CREDENTIALS,
        retry_mode=settings.retry_mode,
        max_attempts=settings.max_attempts,
        pool_size=POOL_SIZE,
    )
    return AwsProvider(aws, pass_local_artifacts=True, poll=LOCAL_POLL)

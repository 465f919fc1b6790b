"""Shared pieces of the hosting-mode tests: a local server that reaches a moto
server as its S3, and a bucket on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import moto_url  # noqa: F401  (the session's moto server, as a fixture)
from tests.local.server_harness import ServerProcess

BUCKET = "modes"


def s3_client(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def s3_env(moto: str) -> dict[str, str]:
    """What the local server needs to use the moto server as its S3."""
    return {
        "AWS_ENDPOINT_URL_S3": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def start_server(home: Path, moto: str, **env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(home, **s3_env(moto), **env).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def bucket(moto_url: str) -> Any:  # noqa: F811
    s3 = s3_client(moto_url)
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    return s3

"""S3 for the local server: read, write and test objects named by `s3://` URIs.

The client is boto3's, built the way smstate builds every client, so
`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` in the server's environment point it at
any S3-compatible server (real S3, MinIO, LocalStack, a moto server).
Calls block: run them off the event loop (`asyncio.to_thread`).
"""

from __future__ import annotations

import functools
from typing import Any


def split(uri: str) -> tuple[str, str]:
    """Bucket and key of `s3://bucket/key`; ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri}")
    return bucket, key


@functools.lru_cache(maxsize=1)
def _client() -> Any:
    from smstate.aws import AwsSettings, Clients

    return Clients(AwsSettings()).client("s3")


def get_object(uri: str) -> bytes:
    bucket, key = split(uri)
    return bytes(_client().get_object(Bucket=bucket, Key=key)["Body"].read())


def put_object(uri: str, data: bytes, content_type: str) -> None:
    bucket, key = split(uri)
    _client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)


def exists(uri: str) -> bool:
    """Whether an object (or, for a URI ending in `/`, any object under the prefix) exists."""
    import botocore.exceptions

    bucket, key = split(uri)
    try:
        if not key or key.endswith("/"):
            listed = _client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            return bool(listed.get("KeyCount"))
        _client().head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            return False
        raise

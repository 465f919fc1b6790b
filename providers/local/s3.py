"""`s3://` for the local server: model artifacts, async inference, data capture.

Everything goes through boto3 at the S3 endpoint the server was started with:
boto3's own `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (real S3 when neither is
set), which `smstate local start` sets from `provider.s3_endpoint_url` or from the
local S3 it started (`providers.local.s3_server`). Credentials resolve as boto3
resolves them; a server that has none talks to a loopback S3 with placeholder
credentials (a moto server or a test MinIO takes any), never to AWS.

The calls are blocking: the server runs them in a thread (`asyncio.to_thread`).
Every failure is an `S3Error` whose message names the URI and says why.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

PLACEHOLDER = {"aws_access_key_id": "smstate-local", "aws_secret_access_key": "smstate-local"}
_MISSING = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_lock = threading.Lock()


class S3Error(Exception):
    """An `s3://` URI that could not be read or written; the message says why."""


class NotFound(S3Error):
    """The object (or the bucket) does not exist."""


def split(uri: str) -> tuple[str, str]:
    """Bucket and key of `s3://bucket/key`; `S3Error` if it is not one."""
    if not uri.startswith("s3://"):
        raise S3Error(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise S3Error(f"{uri!r} names no bucket")
    return bucket, key


def endpoint_url() -> str | None:
    """The S3 endpoint boto3 will use: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def get_object(uri: str) -> bytes:
    bucket, key = split(uri)
    try:
        return bytes(client().get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        raise _error(uri, exc, "read") from None


def put_object(uri: str, data: bytes, content_type: str | None = None) -> None:
    bucket, key = split(uri)
    extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
    try:
        client().put_object(Bucket=bucket, Key=key, Body=data, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise _error(uri, exc, "write") from None


def exists(uri: str) -> bool:
    """Whether the object exists; for a URI ending in `/`, whether any object is under it."""
    bucket, key = split(uri)
    try:
        if not key or key.endswith("/"):
            listed = client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            return bool(listed.get("KeyCount"))
        client().head_object(Bucket=bucket, Key=key)
        return True
    except (ClientError, BotoCoreError) as exc:
        error = _error(uri, exc, "read")
        if isinstance(error, NotFound):
            return False
        raise error from None


def bucket_exists(uri: str) -> bool:
    """Whether the bucket of `uri` exists and can be listed (a prefix may still be empty)."""
    bucket, key = split(uri)
    try:
        client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return True
    except (ClientError, BotoCoreError) as exc:
        error = _error(uri, exc, "read")
        if isinstance(error, NotFound):
            return False
        raise error from None


def _error(uri: str, exc: Exception, verb: str) -> S3Error:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            return NotFound(f"{uri} does not exist")
        return S3Error(f"cannot {verb} {uri}: {code or exc}")
    where = endpoint_url() or "AWS"
    return S3Error(f"cannot {verb} {uri}: S3 at {where}: {exc}")


def client() -> Any:
    """The boto3 S3 client for the configured endpoint (shared; boto3 clients are thread-safe)."""
    with _lock:  # boto3's session setup is not thread-safe; the client is
        return _cached_client(endpoint_url())


@lru_cache(maxsize=4)
def _cached_client(url: str | None) -> Any:
    import boto3

    session = boto3.session.Session()
    credentials: dict[str, str] = {}
    if session.get_credentials() is None:
        if not _loopback(url):
            raise NoCredentialsError()
        credentials = PLACEHOLDER
    region = session.region_name or "us-east-1"
    style = "path" if url else "auto"  # S3-compatible servers take paths; AWS picks its own
    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, s3={"addressing_style": style}
    )  # an unreachable S3 fails in seconds, not minutes
    return session.client("s3", region_name=region, endpoint_url=url, config=config, **credentials)


def _loopback(url: str | None) -> bool:
    host = urlsplit(url).hostname if url else None
    return host in ("127.0.0.1", "localhost", "::1")

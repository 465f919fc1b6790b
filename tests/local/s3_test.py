"""`providers.local.s3`: get, put and exists through boto3 at the configured endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.local import s3
from tests.local.s3_harness import moto_s3, s3_client


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture()
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    client = s3_client(endpoint)
    client.create_bucket(Bucket="inout")
    return client


def test_put_get_exists_round_trip(bucket: Any) -> None:
    assert not s3.exists("s3://inout/a/out.json")
    s3.put_object("s3://inout/a/out.json", b'{"x": 1}', "application/json")
    assert s3.exists("s3://inout/a/out.json")
    assert s3.exists("s3://inout/a/")  # a prefix exists when an object is under it
    assert not s3.exists("s3://inout/b/")
    assert s3.get_object("s3://inout/a/out.json") == b'{"x": 1}'
    head = bucket.head_object(Bucket="inout", Key="a/out.json")
    assert head["ContentType"] == "application/json"


def test_missing_object_and_bucket(bucket: Any) -> None:
    with pytest.raises(s3.NotFound, match="s3://inout/nothing does not exist"):
        s3.get_object("s3://inout/nothing")
    assert not s3.exists("s3://no-such-bucket/key")
    with pytest.raises(s3.S3Error, match="not an s3:// URI"):
        s3.get_object("https://io/key")


def test_endpoint_from_aws_endpoint_url(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    s3_client(endpoint).create_bucket(Bucket="shared")
    s3.put_object("s3://shared/k", b"v")
    assert s3.endpoint_url() == endpoint
    assert s3_client(endpoint).get_object(Bucket="shared", Key="k")["Body"].read() == b"v"


def test_unreachable_endpoint_is_an_s3_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    with pytest.raises(s3.S3Error, match="S3 at http://127.0.0.1:9"):
        s3.get_object("s3://inout/k")

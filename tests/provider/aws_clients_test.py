"""smstate.aws, the one maker of boto3 clients: which URL each service gets, and what a failure reads like."""

from __future__ import annotations

import socket

import pytest

from smstate.aws import AwsError, AwsSettings, Clients
from smstate.errors import ProviderError, UnreachableError
from tests.reliability.proxy import AnswerProxy

SERVICES = ("sagemaker", "sagemaker-runtime", "ec2", "s3", "cloudwatch", "application-autoscaling", "sts")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_endpoint_url_reaches_every_service_and_endpoints_override_one() -> None:
    clients = Clients(AwsSettings(endpoint_url="http://127.0.0.1:4566", endpoints={"ec2": "http://127.0.0.1:5000"}))

    urls = {service: clients.client(service).meta.endpoint_url for service in SERVICES}

    assert urls == {**{s: "http://127.0.0.1:4566" for s in SERVICES}, "ec2": "http://127.0.0.1:5000"}


def test_without_a_configured_url_botocore_resolves_it_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5000")

    clients = Clients(AwsSettings())

    assert clients.client("ec2").meta.endpoint_url == "http://127.0.0.1:5000"
    assert clients.client("s3").meta.endpoint_url == "http://127.0.0.1:4566"


def test_a_refused_connection_names_the_service_the_operation_and_the_url() -> None:
    down = _closed_port_url()
    s3 = Clients(AwsSettings(endpoint_url=down, max_attempts=1)).client("s3")

    with pytest.raises(UnreachableError) as info:
        s3.head_object(Bucket="b", Key="k")

    assert str(info.value) == f"s3 HeadObject at {down}: cannot connect (connection refused)"


def test_no_credentials_names_the_service_and_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    down = _closed_port_url()

    with pytest.raises(ProviderError, match=f"^sagemaker ListModels at {down}: no AWS credentials found"):
        Clients(AwsSettings(endpoint_url=down, max_attempts=1)).client("sagemaker").list_models()


@pytest.mark.parametrize(
    "settings, message",
    [
        (AwsSettings(profile="nosuch"), "the AWS profile 'nosuch' is not in the AWS config files"),
        (AwsSettings(region="us east 1!"), "the AWS region 'us east 1!' is not a region name"),
    ],
)
def test_a_bad_profile_or_region_is_one_line(settings: AwsSettings, message: str) -> None:
    with pytest.raises(AwsError) as info:
        Clients(settings).client("sagemaker")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


@pytest.mark.parametrize("body, content_type", [(b"<html>Sign in</html>", "text/html"), (b"{}", "application/json")])
def test_an_answer_that_is_not_the_apis_is_an_error_not_an_empty_object(body: bytes, content_type: str) -> None:
    with AnswerProxy(body, content_type) as proxy:
        sagemaker = Clients(AwsSettings(endpoint_url=proxy.url, max_attempts=1)).client("sagemaker")
        with pytest.raises(ProviderError, match=f"^sagemaker DescribeEndpoint at {proxy.url}: .*not this API's"):
            sagemaker.describe_endpoint(EndpointName="e")
        with pytest.raises(ProviderError, match="ListEndpoints"):
            list(sagemaker.get_paginator("list_endpoints").paginate())
        if content_type == "text/html":  # ListTags has no required member: the body itself gives it away
            with pytest.raises(ProviderError, match="ListTags .*not JSON"):
                sagemaker.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/e")

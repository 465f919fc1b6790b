"""The boto3 provider against moto in-process: read, create, tags, delete, not-found, artifacts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from providers.aws.provider import AwsProvider, describe_stage
from smstate.aws import AwsSettings
from smstate.errors import ProviderError
from smstate.resources import KINDS

MODEL = {"PrimaryContainer": {"Image": "img:1", "ModelDataUrl": "s3://b/m.tar.gz"}, "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"}


@pytest.fixture()
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsProvider]:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        yield AwsProvider(AwsSettings(region="us-east-1"), artifact_bucket="artifacts")


def test_create_read_tags_delete(provider: AwsProvider) -> None:
    kind = KINDS["models"]
    created = provider.create(kind, "m-1", dict(MODEL), {"smstate:address": "models.m", "team": "a"})
    assert created.arn.endswith(":model/m-1")
    live = provider.read(kind, "m-1")
    assert live is not None and live.physical_name == "m-1" and live.arn == created.arn
    assert live.tags == {"smstate:address": "models.m", "team": "a"}
    assert live.description["PrimaryContainer"]["Image"] == "img:1"
    provider.set_tags(created.arn, {"owner": "b"}, ["team"])
    live = provider.read(kind, "m-1")
    assert live is not None and live.tags == {"smstate:address": "models.m", "owner": "b"}
    provider.delete(kind, "m-1")
    assert provider.read(kind, "m-1") is None
    provider.delete(kind, "m-1")


def test_missing_objects_read_as_none(provider: AwsProvider) -> None:
    for kind in ("models", "endpoint_configs", "endpoints", "model_package_groups"):
        assert provider.read(KINDS[kind], "nope") is None


def test_api_errors_become_one_line(provider: AwsProvider) -> None:
    with pytest.raises(ProviderError, match="CreateEndpoint e: ValidationException: .*missing-config") as info:
        provider.create(KINDS["endpoints"], "e", {"EndpointConfigName": "missing-config"}, {})
    assert "\n" not in str(info.value)


def test_endpoint_wait_reports_progress(provider: AwsProvider) -> None:
    provider.create(KINDS["models"], "m-1", dict(MODEL), {})
    variants = [{"VariantName": "a", "ModelName": "m-1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]
    provider.create(KINDS["endpoint_configs"], "c-1", {"ProductionVariants": variants}, {})
    provider.create(KINDS["endpoints"], "e", {"EndpointConfigName": "c-1"}, {})
    seen: list[str] = []
    live = provider.wait(KINDS["endpoints"], "e", "ready", 30, lambda p: seen.append(p.status))
    assert live is not None and live.status == "InService" and seen == ["InService"]


def test_local_artifact_is_uploaded_once_by_content(provider: AwsProvider, tmp_path: Path) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="artifacts")
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"weights")
    request = {"PrimaryContainer": {"Image": "img:1", "ModelDataUrl": f"file://{artifact}"}}
    provider.create(KINDS["models"], "m-2", request, {})
    live = provider.read(KINDS["models"], "m-2")
    digest = hashlib.sha256(b"weights").hexdigest()
    assert live is not None
    assert live.description["PrimaryContainer"]["ModelDataUrl"] == f"s3://artifacts/smstate/artifacts/{digest}/model.tar.gz"
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket="artifacts", Key=f"smstate/artifacts/{digest}/model.tar.gz")
    assert body["Body"].read() == b"weights"


def test_local_artifact_without_bucket_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        provider = AwsProvider(AwsSettings(region="us-east-1"))
        request = {"PrimaryContainer": {"Image": "img:1", "ModelDataUrl": f"file://{tmp_path}/m.tar.gz"}}
        with pytest.raises(ProviderError, match="set provider.artifact_bucket"):
            provider.create(KINDS["models"], "m-3", request, {})


def test_network_check_names_missing_ids(provider: AwsProvider) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    assert provider.check_network([subnet, "subnet-0000000000000dead"], ["sg-0000000000000dead"]) == [
        "subnet-0000000000000dead",
        "sg-0000000000000dead",
    ]


def test_stage_text_from_pending_deployment() -> None:
    description = {
        "PendingDeploymentSummary": {
            "ProductionVariants": [{"VariantName": "a", "VariantStatus": [{"Status": "Baking", "StatusMessage": "canary 10%"}]}]
        }
    }
    assert describe_stage(description) == "a: Baking (canary 10%)"

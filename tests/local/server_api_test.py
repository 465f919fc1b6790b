"""The control plane through boto3 and the AWS CLI: CRUD, errors, lists, tags,
the model registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import ServerProcess, clients, create_config, create_model, deploy, model_tar


@pytest.fixture(scope="module")
def tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_tar(tmp_path_factory.mktemp("models"), "v1")


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response["Error"])


def test_model_lifecycle_and_aws_shaped_errors(sm: Any, tar: Path) -> None:
    create_model(sm, "crud-model", tar)
    described = sm.describe_model(ModelName="crud-model")
    assert described["ModelArn"] == "arn:aws:sagemaker:us-east-1:000000000000:model/crud-model"
    assert described["PrimaryContainer"]["ModelDataUrl"] == str(tar)
    assert described["EnableNetworkIsolation"] is False
    assert "CreationTime" in described

    duplicate = error_of(create_model, sm=sm, name="crud-model", tar=tar)
    assert duplicate == {
        "Code": "ValidationException",
        "Message": 'Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/crud-model".',
    }
    sm.delete_model(ModelName="crud-model")
    missing = error_of(sm.describe_model, ModelName="crud-model")
    assert missing["Code"] == "ValidationException"
    assert missing["Message"] == 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/crud-model".'
    assert error_of(sm.delete_model, ModelName="crud-model")["Code"] == "ValidationException"


def test_model_data_url_must_not_be_relative(sm: Any) -> None:
    error = error_of(
        sm.create_model, ModelName="relative", PrimaryContainer={"Image": "x", "ModelDataUrl": "build/model.tar.gz"}
    )
    assert error["Code"] == "ValidationException"
    assert "absolute path" in error["Message"]


def test_endpoint_config_and_endpoint_errors(sm: Any, tar: Path) -> None:
    missing_model = error_of(create_config, sm=sm, name="cfg-x", model="no-such-model")
    assert missing_model["Message"].startswith('Could not find model "')
    create_model(sm, "cfg-model", tar)
    create_config(sm, "cfg-a", "cfg-model")
    described = sm.describe_endpoint_config(EndpointConfigName="cfg-a")
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 1.0
    assert described["EndpointConfigArn"].endswith(":endpoint-config/cfg-a")
    again = error_of(create_config, sm=sm, name="cfg-a", model="cfg-model")
    assert again["Message"] == (
        'Cannot create already existing endpoint configuration '
        '"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg-a".'
    )
    no_config = error_of(sm.create_endpoint, EndpointName="ep-x", EndpointConfigName="nope")
    assert no_config["Message"].startswith('Could not find endpoint configuration "')
    no_endpoint = error_of(sm.describe_endpoint, EndpointName="ep-x")
    assert no_endpoint["Message"] == 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep-x".'


def test_duplicate_endpoint_rejected(sm: Any, tar: Path) -> None:
    deploy(sm, "dup-endpoint", tar)
    error = error_of(sm.create_endpoint, EndpointName="dup-endpoint", EndpointConfigName="dup-endpoint")
    assert error["Message"] == (
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/dup-endpoint".'
    )


def test_service_model_validation(sm: Any, tar: Path, server: ServerProcess) -> None:
    create_model(sm, "val-model", tar)
    bad_enum = error_of(
        sm.create_endpoint_config,
        EndpointConfigName="val-cfg",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "val-model", "InstanceType": "ml.nope.large", "InitialInstanceCount": 1}
        ],
    )
    assert bad_enum["Code"] == "ValidationException"
    assert "productionVariants.1.member.instanceType" in bad_enum["Message"]
    assert "enum value set" in bad_enum["Message"]
    bad_pattern = error_of(sm.describe_model, ModelName="under_score")
    assert "regular expression pattern" in bad_pattern["Message"]


def test_list_pagination_and_filters(sm: Any, tar: Path) -> None:
    for index in range(7):
        create_model(sm, f"page-{index}", tar)
    seen: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"NameContains": "page-", "MaxResults": 3, "SortBy": "Name", "SortOrder": "Ascending"}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_models(**kwargs)
        assert len(page["Models"]) <= 3
        seen += [m["ModelName"] for m in page["Models"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(7)]
    newest = sm.list_models(NameContains="PAGE-", MaxResults=1)["Models"][0]["ModelName"]
    assert newest == "page-6"
    pages = sm.get_paginator("list_models").paginate(NameContains="page-")
    paginated = [m["ModelName"] for p in pages for m in p["Models"]]
    assert sorted(paginated) == seen
    assert error_of(sm.list_models, NextToken="garbage!")["Code"] == "ValidationException"


def test_aws_cli_lists_endpoints(sm: Any, tar: Path, server: ServerProcess) -> None:
    deploy(sm, "cli-endpoint", tar)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), "sagemaker", "list-endpoints", "--endpoint-url", server.url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    names = [e["EndpointName"] for e in json.loads(result.stdout)["Endpoints"]]
    assert "cli-endpoint" in names


def test_model_package_versions(sm: Any) -> None:
    group = sm.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="Churn")
    assert group["ModelPackageGroupArn"].endswith(":model-package-group/churn")
    spec = {
        "Containers": [{"Image": "local/echo", "ModelDataUrl": "s3://bucket/churn/v1.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    arns = [
        sm.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=spec)["ModelPackageArn"]
        for _ in range(3)
    ]
    assert arns == [f"arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/{v}" for v in (1, 2, 3)]
    second = sm.describe_model_package(ModelPackageName=arns[1])
    assert second["ModelPackageVersion"] == 2
    assert second["ModelPackageGroupName"] == "churn"
    assert second["ModelPackageStatus"] == "Completed"
    assert second["ModelApprovalStatus"] == "PendingManualApproval"

    sm.update_model_package(
        ModelPackageArn=arns[1], ModelApprovalStatus="Approved", CustomerMetadataProperties={"a": "1"}
    )
    updated = sm.describe_model_package(ModelPackageName="churn/2")
    assert updated["ModelApprovalStatus"] == "Approved"
    assert updated["CustomerMetadataProperties"] == {"a": "1"}

    sm.delete_model_package(ModelPackageName=arns[0])
    listed = sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert sorted(p["ModelPackageVersion"] for p in listed) == [2, 3]
    approved = sm.list_model_packages(ModelPackageGroupName="churn", ModelApprovalStatus="Approved")
    assert [p["ModelPackageVersion"] for p in approved["ModelPackageSummaryList"]] == [2]
    fourth = sm.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=spec)
    assert fourth["ModelPackageArn"].endswith("/churn/4")

    assert error_of(sm.delete_model_package_group, ModelPackageGroupName="churn")["Code"] == "ConflictException"
    for version in (2, 3, 4):
        sm.delete_model_package(ModelPackageName=f"churn/{version}")
    sm.delete_model_package_group(ModelPackageGroupName="churn")
    assert error_of(sm.describe_model_package_group, ModelPackageGroupName="churn")["Code"] == "ValidationException"


def test_model_package_client_token_is_idempotent(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="tokens")
    spec = {"Containers": [{"Image": "local/echo"}], "SupportedContentTypes": [], "SupportedResponseMIMETypes": []}
    first = sm.create_model_package(ModelPackageGroupName="tokens", InferenceSpecification=spec, ClientToken="abc")
    again = sm.create_model_package(ModelPackageGroupName="tokens", InferenceSpecification=spec, ClientToken="abc")
    other = sm.create_model_package(ModelPackageGroupName="tokens", InferenceSpecification=spec, ClientToken="xyz")
    assert first["ModelPackageArn"] == again["ModelPackageArn"]
    assert other["ModelPackageArn"].endswith("/tokens/2")


def test_tags_by_arn_for_every_kind(sm: Any, tar: Path) -> None:
    create_model(sm, "tag-model", tar)
    create_config(sm, "tag-config", "tag-model")
    sm.create_endpoint(EndpointName="tag-endpoint", EndpointConfigName="tag-config")
    group_arn = sm.create_model_package_group(ModelPackageGroupName="tag-group")["ModelPackageGroupArn"]
    spec = {"Containers": [{"Image": "x"}], "SupportedContentTypes": [], "SupportedResponseMIMETypes": []}
    package = sm.create_model_package(ModelPackageGroupName="tag-group", InferenceSpecification=spec)
    package_arn = package["ModelPackageArn"]
    arns = [
        sm.describe_model(ModelName="tag-model")["ModelArn"],
        sm.describe_endpoint_config(EndpointConfigName="tag-config")["EndpointConfigArn"],
        sm.describe_endpoint(EndpointName="tag-endpoint")["EndpointArn"],
        group_arn,
        package_arn,
    ]
    for arn in arns:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": "1"}])
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "growth"}])
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [
            {"Key": "team", "Value": "growth"},
            {"Key": "tier", "Value": "1"},
        ]
        sm.delete_tags(ResourceArn=arn, TagKeys=["tier"])
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "growth"}]
    missing = error_of(sm.list_tags, ResourceArn="arn:aws:sagemaker:us-east-1:000000000000:model/nope")
    assert missing["Code"] == "ValidationException"


def test_tags_given_at_creation(sm: Any, tar: Path) -> None:
    sm.create_model(
        ModelName="born-tagged",
        PrimaryContainer={"Image": "x", "ModelDataUrl": str(tar)},
        Tags=[{"Key": "smstate:address", "Value": "models.churn"}],
    )
    arn = sm.describe_model(ModelName="born-tagged")["ModelArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "smstate:address", "Value": "models.churn"}]


def test_registry_survives_a_restart(tmp_path: Path, tar: Path) -> None:
    home = tmp_path / "home"
    first = ServerProcess(home).start()
    try:
        sm = clients(first.url)[0]
        create_model(sm, "durable", tar)
        sm.create_model_package_group(ModelPackageGroupName="durable-group")
    finally:
        first.terminate()
    second = ServerProcess(home).start()
    try:
        sm = clients(second.url)[0]
        assert sm.describe_model(ModelName="durable")["ModelName"] == "durable"
        group = sm.describe_model_package_group(ModelPackageGroupName="durable-group")
        assert group["ModelPackageGroupStatus"] == "Completed"
    finally:
        second.close()

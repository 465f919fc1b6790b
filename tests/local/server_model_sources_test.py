"""CreateModel checks what its containers point at, as SageMaker does: model
packages (resolved from their inference specification, refused when missing or not
approved) and `s3://` artifacts (refused when missing); the endpoint hosts the result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.s3_harness import moto_s3, s3_client
from tests.local.server_harness import ServerProcess, clients, create_config, invoke_label, model_tar, wait_in_service

ROLE = "arn:aws:iam::000000000000:role/local"


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        s3_client(url).create_bucket(Bucket="models")
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, s3_url: str) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("sources") / "home"
    process = ServerProcess(home, AWS_ENDPOINT_URL_S3=s3_url).start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def uploaded(s3_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model archive in the moto S3 (label `packaged`)."""
    tar = model_tar(tmp_path_factory.mktemp("tars"), "packaged")
    s3_client(s3_url).upload_file(str(tar), "models", "packaged/model.tar.gz")
    return "s3://models/packaged/model.tar.gz"


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response["Error"])


def container(url: str) -> dict[str, Any]:
    return {"Image": "local/echo", "ModelDataUrl": url, "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}


def test_missing_s3_artifact_is_refused(sm: Any) -> None:
    url = "s3://models/absent/model.tar.gz"
    refused = error_of(sm.create_model, ModelName="absent", PrimaryContainer=container(url), ExecutionRoleArn=ROLE)
    # AWS: "Could not find model data at <url>." (CreateModel, ValidationException, HTTP 400)
    assert refused == {"Code": "ValidationException", "Message": f"Could not find model data at {url}."}
    assert error_of(sm.describe_model, ModelName="absent")["Code"] == "ValidationException"


def test_s3_artifact_is_served(sm: Any, server: ServerProcess, uploaded: str) -> None:
    sm.create_model(ModelName="from-s3", PrimaryContainer=container(uploaded), ExecutionRoleArn=ROLE)
    create_config(sm, "from-s3", "from-s3")
    sm.create_endpoint(EndpointName="from-s3", EndpointConfigName="from-s3")
    wait_in_service(sm, "from-s3")
    assert invoke_label(clients(server.url)[1], "from-s3") == "packaged"


def test_model_from_an_approved_package_version_is_hosted(sm: Any, server: ServerProcess, uploaded: str) -> None:
    sm.create_model_package_group(ModelPackageGroupName="g1")
    spec = {"Containers": [container(uploaded)], "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"]}  # fmt: skip
    arn = sm.create_model_package(ModelPackageGroupName="g1", InferenceSpecification=spec)["ModelPackageArn"]

    missing = error_of(sm.create_model, ModelName="m99", Containers=[{"ModelPackageName": "g1/99"}], ExecutionRoleArn=ROLE)
    assert missing == {"Code": "ValidationException", "Message": "ModelPackage g1/99 does not exist."}
    pending = error_of(sm.create_model, ModelName="m1", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE)
    assert pending["Code"] == "ValidationException"
    assert "PendingManualApproval" in pending["Message"] and arn in pending["Message"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    rejected = error_of(sm.create_model, ModelName="m1", Containers=[{"ModelPackageName": arn}], ExecutionRoleArn=ROLE)
    assert "Rejected" in rejected["Message"]

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sm.create_model(ModelName="m1", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE)
    assert sm.describe_model(ModelName="m1")["PrimaryContainer"]["ModelPackageName"] == arn
    create_config(sm, "m1", "m1")
    sm.create_endpoint(EndpointName="m1", EndpointConfigName="m1")
    wait_in_service(sm, "m1")
    described = sm.describe_endpoint(EndpointName="m1")
    assert described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == "local/echo"
    assert invoke_label(clients(server.url)[1], "m1") == "packaged"

    sm.create_model(ModelName="m1-by-name", Containers=[{"ModelPackageName": "g1/1"}], ExecutionRoleArn=ROLE)
    create_config(sm, "m1-by-name", "m1-by-name")
    sm.create_endpoint(EndpointName="m1-by-name", EndpointConfigName="m1-by-name")
    wait_in_service(sm, "m1-by-name")
    assert invoke_label(clients(server.url)[1], "m1-by-name") == "packaged"


def test_unreachable_s3_is_refused_as_inaccessible_model_data(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home", AWS_ENDPOINT_URL_S3="http://127.0.0.1:9").start()
    try:
        sm = clients(server.url)[0]
        url = "s3://models/packaged/model.tar.gz"
        refused = error_of(sm.create_model, ModelName="nowhere", PrimaryContainer=container(url), ExecutionRoleArn=ROLE)
        assert refused["Code"] == "ValidationException"
        assert refused["Message"].startswith(f"Could not access model data at {url}.")
        assert "http://127.0.0.1:9" in refused["Message"]
    finally:
        server.close()

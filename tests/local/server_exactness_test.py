"""Where the local server answers as SageMaker documents it, beyond the common paths:
list defaults, refusals by endpoint status, the Updating of a weights-only change,
ModelError's LogStreamArn, request ids on every runtime answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import (
    FAILING_CODE,
    ServerProcess,
    clients,
    create_config,
    create_model,
    deploy,
    model_tar,
    wait_in_service,
    wait_settled,
)

SLOW_START_CODE = '''
import time

def model_fn(model_dir):
    time.sleep(4)
    return "slow"
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # a weights-only change shows Updating for 2 s x 0.5 here: long enough to be seen
    process = ServerProcess(tmp_path_factory.mktemp("exact") / "home", SMSTATE_LOCAL_TIME_SCALE="0.5").start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sm(server: ServerProcess) -> Any:
    return clients(server.url)[0]


@pytest.fixture(scope="module")
def rt(server: ServerProcess) -> Any:
    return clients(server.url)[1]


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response["Error"])


SPEC = {"Containers": [{"Image": "local/echo"}], "SupportedContentTypes": [], "SupportedResponseMIMETypes": []}


def aws_cli(server: ServerProcess, *args: str) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), *args, "--endpoint-url", server.url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_list_model_packages_defaults_are_awss(sm: Any, server: ServerProcess) -> None:
    """AWS: SortOrder defaults to Ascending; ModelPackageType to UNVERSIONED; a group filter lists its versions."""
    sm.create_model_package_group(ModelPackageGroupName="ordered")
    versions = [
        sm.create_model_package(ModelPackageGroupName="ordered", InferenceSpecification=SPEC)["ModelPackageArn"]
        for _ in range(3)
    ]
    loose = sm.create_model_package(ModelPackageName="loose", InferenceSpecification=SPEC)["ModelPackageArn"]

    listed = sm.list_model_packages(ModelPackageGroupName="ordered")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == versions  # oldest first: [0] is version 1
    newest = sm.list_model_packages(ModelPackageGroupName="ordered", SortOrder="Descending")
    assert newest["ModelPackageSummaryList"][0]["ModelPackageArn"] == versions[-1]

    default = sm.list_model_packages()["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in default] == [loose]
    both = sm.list_model_packages(ModelPackageType="Both")["ModelPackageSummaryList"]
    assert {p["ModelPackageArn"] for p in both} == {loose, *versions}
    versioned = sm.list_model_packages(ModelPackageType="Versioned")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in versioned] == versions

    listed_by_cli = aws_cli(server, "sagemaker", "list-model-packages", "--model-package-group-name", "ordered")
    assert [p["ModelPackageArn"] for p in listed_by_cli["ModelPackageSummaryList"]] == versions

    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups][-1] == "ordered"  # ascending as well


def test_weights_only_update_shows_updating_then_in_service(sm: Any, tmp_path: Path) -> None:
    deploy(sm, "weights", model_tar(tmp_path, "weights"))
    sm.update_endpoint_weights_and_capacities(
        EndpointName="weights", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 0.5}]
    )
    assert sm.describe_endpoint(EndpointName="weights")["EndpointStatus"] == "Updating"
    # AWS: DeleteEndpoint on an endpoint with an operation in progress is refused with
    # ValidationException "Cannot update in-progress endpoint ..."
    refused = error_of(sm.delete_endpoint, EndpointName="weights")
    assert refused["Code"] == "ValidationException"
    assert refused["Message"] == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/weights".'
    )
    settled = wait_settled(sm, "weights")
    assert settled["EndpointStatus"] == "InService"
    assert settled["ProductionVariants"][0]["CurrentWeight"] == 0.5
    sm.delete_endpoint(EndpointName="weights")


def test_delete_refused_while_system_updating(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, _ = clients(server.url)
        deploy(sm, "restarted", model_tar(tmp_path, "slow", SLOW_START_CODE))
        server.terminate()
        server.start()
        assert sm.describe_endpoint(EndpointName="restarted")["EndpointStatus"] == "SystemUpdating"
        refused = error_of(sm.delete_endpoint, EndpointName="restarted")
        assert refused["Code"] == "ValidationException"
        assert refused["Message"] == (
            'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/restarted".'
        )
        assert wait_settled(sm, "restarted")["EndpointStatus"] == "InService"
        sm.delete_endpoint(EndpointName="restarted")
    finally:
        server.close()


def test_model_error_names_its_log_stream_and_every_answer_a_request_id(sm: Any, rt: Any, tmp_path: Path) -> None:
    create_model(sm, "failing", model_tar(tmp_path, "failing", FAILING_CODE))
    create_config(sm, "failing", "failing", variant="AllTraffic")  # the SageMaker SDK's variant name
    sm.create_endpoint(EndpointName="failing", EndpointConfigName="failing")
    wait_in_service(sm, "failing")
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="failing", Body=b"1", ContentType="application/json")
    response = caught.value.response
    assert response["Error"]["Code"] == "ModelError"
    # AWS: 'Received server error (500) from primary with message "...". See https://<region>.console.aws.amazon.com/
    # cloudwatch/home?region=<region>#logEventViewer:group=/aws/sagemaker/Endpoints/<endpoint> in account <account>
    # for more information.' ("primary" is the model's primary container, whatever the variant is called)
    assert response["Error"]["Message"] == (
        f'Received server error (500) from primary with message "{response["OriginalMessage"]}". '
        "See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logEventViewer:group=/aws/sagemaker/Endpoints/failing in account 000000000000 for more information."
    )
    assert response["LogStreamArn"] == (
        "arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/failing"
    )
    assert response["OriginalStatusCode"] == 500
    assert response["ResponseMetadata"]["RequestId"]

    deploy(sm, "answering", model_tar(tmp_path, "answering"))
    ok = rt.invoke_endpoint(EndpointName="answering", Body=b"1", ContentType="application/json")
    missing = error_of(rt.invoke_endpoint, EndpointName="nowhere", Body=b"1", ContentType="application/json")
    assert missing["Code"] == "ValidationError"
    request_ids = [ok["ResponseMetadata"]["RequestId"], response["ResponseMetadata"]["RequestId"]]
    assert all(len(r) == 36 for r in request_ids) and request_ids[0] != request_ids[1]
    assert ok["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_ids[0]


def test_serverless_config_with_instance_type_is_refused(sm: Any, tmp_path: Path) -> None:
    create_model(sm, "for-serverless", model_tar(tmp_path, "for-serverless"))
    refused = error_of(
        sm.create_endpoint_config,
        EndpointConfigName="both",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "for-serverless",
                "InstanceType": "ml.m5.large",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2},
            }
        ],
    )
    assert refused["Code"] == "ValidationException"
    assert "ServerlessConfig" in refused["Message"] and "InstanceType" in refused["Message"]
    with pytest.raises(ClientError):
        sm.describe_endpoint_config(EndpointConfigName="both")
    # AWS: ProvisionedConcurrency "should be less than or equal to MaxConcurrency"
    over = error_of(
        sm.create_endpoint_config,
        EndpointConfigName="over",
        ProductionVariants=[{"VariantName": "v", "ModelName": "for-serverless", "ServerlessConfig": {
            "MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 3}}],
    )  # fmt: skip
    assert over["Code"] == "ValidationException" and "MaxConcurrency" in over["Message"]

"""GetResources of the Resource Groups Tagging API, through boto3, against the local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.server_harness import ServerProcess, clients, create_config, create_model, model_tar


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("tagging") / "home").start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def objects(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Five tagged models, one untagged model, one tagged endpoint config: name -> ARN."""
    sm = clients(server.url)[0]
    tar = model_tar(tmp_path_factory.mktemp("models"), "v1")
    arns = {}
    for i in range(6):
        create_model(sm, f"m{i}", tar)
        arn = sm.describe_model(ModelName=f"m{i}")["ModelArn"]
        if i < 5:
            sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a" if i < 3 else "b"}, {"Key": "n", "Value": str(i)}])
        arns[f"m{i}"] = arn
    create_config(sm, "c0", "m0")
    arns["c0"] = sm.describe_endpoint_config(EndpointConfigName="c0")["EndpointConfigArn"]
    sm.add_tags(ResourceArn=arns["c0"], Tags=[{"Key": "team", "Value": "a"}])
    return arns


@pytest.fixture(scope="module")
def tagging(server: ServerProcess) -> Any:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return session.client("resourcegroupstaggingapi", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}))


def tags_by_arn(answer: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]} for m in answer["ResourceTagMappingList"]}


def test_arn_list_answers_the_tagged_objects_named(tagging: Any, objects: dict[str, str]) -> None:
    asked = [objects["m0"], objects["m4"], objects["m5"], objects["c0"], objects["m0"].replace("m0", "nothing")]
    found = tags_by_arn(tagging.get_resources(ResourceARNList=asked))
    assert found == {objects["m0"]: {"team": "a", "n": "0"}, objects["m4"]: {"team": "b", "n": "4"}, objects["c0"]: {"team": "a"}}


def test_a_changed_tag_shows_at_once(server: ServerProcess, tagging: Any, objects: dict[str, str]) -> None:
    sm = clients(server.url)[0]
    sm.add_tags(ResourceArn=objects["m1"], Tags=[{"Key": "n", "Value": "changed"}])
    sm.delete_tags(ResourceArn=objects["m1"], TagKeys=["team"])
    assert tags_by_arn(tagging.get_resources(ResourceARNList=[objects["m1"]])) == {objects["m1"]: {"n": "changed"}}


def test_filters_by_type_and_tag(tagging: Any, objects: dict[str, str]) -> None:
    configs = tags_by_arn(tagging.get_resources(ResourceTypeFilters=["sagemaker:endpoint-config"]))
    assert set(configs) == {objects["c0"]}
    team_b = tags_by_arn(tagging.get_resources(TagFilters=[{"Key": "team", "Values": ["b"]}]))
    assert set(team_b) == {objects["m3"], objects["m4"]}
    other_service = tagging.get_resources(ResourceTypeFilters=["ec2:instance"])
    assert other_service["ResourceTagMappingList"] == []


def test_pages_through_every_tagged_object_once(tagging: Any, objects: dict[str, str]) -> None:
    seen = [
        m["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(PaginationConfig={"PageSize": 2})
        for m in page["ResourceTagMappingList"]
    ]
    assert sorted(seen) == sorted(objects[n] for n in ("m0", "m1", "m2", "m3", "m4", "c0"))


def test_arn_list_with_paging_is_refused_as_aws_does(tagging: Any, objects: dict[str, str]) -> None:
    with pytest.raises(ClientError) as caught:
        tagging.get_resources(ResourceARNList=[objects["m0"]], ResourcesPerPage=10)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        tagging.get_resources(ResourceARNList=[objects["m0"]] * 101)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"


def test_other_tagging_operations_are_unknown(tagging: Any, objects: dict[str, str]) -> None:
    with pytest.raises(ClientError) as caught:
        tagging.tag_resources(ResourceARNList=[objects["m5"]], Tags={"a": "b"})
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"

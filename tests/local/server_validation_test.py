"""The local server validates requests against botocore's models and answers in AWS's
server-side words (boto3's own checks are turned off to reach it)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.local.server_harness import ServerProcess

PREFIX = "1 validation error detected: "


@pytest.fixture(scope="module")
def unchecked(server: ServerProcess) -> Any:
    """A SageMaker client that sends what it is given, as a client without botocore's checks does."""
    config = Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return session.client("sagemaker", endpoint_url=server.url, config=config)


def refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_missing_member(unchecked: Any) -> None:
    assert refused(unchecked.describe_model) == (
        "ValidationException",
        PREFIX + "Value null at 'modelName' failed to satisfy constraint: Member must not be null",
    )


def test_lengths_and_ranges(unchecked: Any) -> None:
    too_long = "m" * 64
    assert refused(unchecked.describe_model, ModelName=too_long)[1] == (
        PREFIX + f"Value '{too_long}' at 'modelName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63"
    )
    assert refused(unchecked.list_models, MaxResults=0)[1] == (
        PREFIX + "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
    )
    arn = "arn:aws:sagemaker:us-east-1:000000000000:model/m"
    assert refused(unchecked.add_tags, ResourceArn=arn, Tags=[{"Key": "", "Value": "v"}])[1] == (
        PREFIX + "Value '' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_pattern_and_enum(unchecked: Any) -> None:
    assert refused(unchecked.describe_model, ModelName="bad_name")[1] == (
        PREFIX + "Value 'bad_name' at 'modelName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?"
    )
    code, message = refused(unchecked.list_models, SortBy="Colour")
    assert (code, message) == (
        "ValidationException",
        PREFIX + "Value 'Colour' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime]",
    )


def test_several_errors_in_one_answer(unchecked: Any) -> None:
    code, message = refused(unchecked.list_models, MaxResults=0, SortOrder="Sideways")
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set" in message
    assert "Value '0' at 'maxResults' failed to satisfy constraint" in message
    assert message.count("; ") == 1


def test_wrong_type(unchecked: Any) -> None:
    assert refused(unchecked.list_models, MaxResults="ten") == (
        "SerializationException", "STRING_VALUE can not be converted to an Integer"
    )
    assert refused(unchecked.describe_model, ModelName={"a": 1}) == (
        "SerializationException", "Start of structure or map found where not expected."
    )


def test_tag_keys_as_aws_checks_them(unchecked: Any) -> None:
    unchecked.create_model(ModelName="tagged", PrimaryContainer={"Image": "img"}, ExecutionRoleArn="arn:aws:iam::000000000000:role/r")
    arn = unchecked.describe_model(ModelName="tagged")["ModelArn"]
    assert refused(unchecked.add_tags, ResourceArn=arn, Tags=[{"Key": "bad#key", "Value": "v"}])[1] == (
        PREFIX + "Value 'bad#key' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
    )
    assert refused(unchecked.add_tags, ResourceArn=arn, Tags=[{"Key": "ok", "Value": "v"}, {"Key": "AWS:x", "Value": "v"}])[1] == (
        PREFIX + "Value 'AWS:x' at 'tags.2.member.key' failed to satisfy constraint: Member must not start with 'aws:'"
    )
    unchecked.add_tags(ResourceArn=arn, Tags=[{"Key": "équipe:données", "Value": "façade été"}])  # Unicode letters are letters
    assert {"Key": "équipe:données", "Value": "façade été"} in unchecked.list_tags(ResourceArn=arn)["Tags"]

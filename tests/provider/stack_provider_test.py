"""The boto3 provider reaches CloudWatch alarms and Application Auto Scaling targets through
the same verbs as SageMaker objects, driven by the kinds' traits (moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from providers.aws.provider import AwsProvider
from smstate.aws import AwsSettings
from smstate.live import attributes
from smstate.resources import KINDS

ALARM = {
    "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors", "Statistic": "Sum", "Period": 60,
    "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "Dimensions": [{"Name": "EndpointName", "Value": "churn"}],
}  # fmt: skip
TARGET = "endpoint/churn/variant/primary|sagemaker:variant:DesiredInstanceCount"
POLICY = {
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 100.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    },
}  # fmt: skip


@pytest.fixture()
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsProvider]:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        yield AwsProvider(AwsSettings(region="us-east-1"))


def test_an_alarm_is_put_read_by_name_with_its_cloudwatch_tags_and_deleted(provider: AwsProvider) -> None:
    kind = KINDS["alarms"]
    provider.create(kind, "churn-5xx", dict(ALARM), {"smstate:address": "alarms.churn-5xx", "team": "risk"})

    live = provider.read(kind, "churn-5xx")
    assert live is not None and live.physical_name == "churn-5xx" and live.arn and ":alarm:churn-5xx" in live.arn
    assert live.tags == {"smstate:address": "alarms.churn-5xx", "team": "risk"}
    assert attributes(kind, live)["threshold"] == 1.0
    assert live.arn is not None
    provider.set_tags(live.arn, {"owner": "b"}, ["team"])
    assert provider.tags_of(live.arn) == {"smstate:address": "alarms.churn-5xx", "owner": "b"}
    provider.update(kind, "churn-5xx", {**ALARM, "Threshold": 3.0})
    again = provider.read(kind, "churn-5xx")
    assert again is not None and again.description["Threshold"] == 3.0
    assert [i for i, _ in provider.list_ids(kind, "churn")] == ["churn-5xx"]
    provider.delete(kind, "churn-5xx")
    assert provider.read(kind, "churn-5xx") is None


def test_a_scalable_target_is_registered_with_its_policies_and_read_back_in_config_form(provider: AwsProvider) -> None:
    kind = KINDS["scaling"]
    request = {"Target": {"Endpoint": "churn", "Variant": "primary"}, "MinCapacity": 1, "MaxCapacity": 4,
               "Policies": {"invocations": POLICY, "spare": POLICY}}  # fmt: skip
    provider.create(kind, TARGET, request, {})

    live = provider.read(kind, TARGET)
    assert live is not None and live.physical_name == TARGET
    seen = attributes(kind, live)
    assert seen["target"] == {"endpoint": "churn", "variant": "primary"}
    assert (seen["min_capacity"], seen["max_capacity"]) == (1, 4)
    assert sorted(seen["policies"]) == ["invocations", "spare"]
    assert seen["policies"]["invocations"]["target_tracking_scaling_policy_configuration"]["target_value"] == 100.0
    assert provider.list_ids(kind) == [(TARGET, live.arn or "")]

    provider.update(kind, TARGET, {**request, "MaxCapacity": 6, "Policies": {"invocations": POLICY}})
    after = provider.read(kind, TARGET)
    assert after is not None and attributes(kind, after)["max_capacity"] == 6
    assert sorted(after.description["Policies"]) == ["invocations"]

    provider.delete(kind, TARGET)
    assert provider.read(kind, TARGET) is None
    client = provider._client(kind)
    assert client.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []

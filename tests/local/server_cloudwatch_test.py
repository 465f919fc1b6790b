"""CloudWatch on the local server: the AWS/SageMaker metrics of real invocations,
metric queries, alarms and their evaluation, through boto3, the AWS CLI and raw
requests in each protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import cbor2
import pytest
from botocore import parsers, serialize
from botocore.exceptions import ClientError

from tests.local.server_harness import (
    FAILING_CODE,
    ServerProcess,
    alarm_on_5xx,
    clients,
    cloudwatch,
    deploy,
    invoke_label,
    model_tar,
)

DIMS = [{"Name": "EndpointName", "Value": "metered"}, {"Name": "VariantName", "Value": "primary"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("cloudwatch") / "home").start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def cw(server: ServerProcess) -> Any:
    return cloudwatch(server.url)


@pytest.fixture(scope="module")
def metered(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Endpoint `metered` after 6 good invocations and 4 that the model failed."""
    sm, rt = clients(server.url)
    models = tmp_path_factory.mktemp("models")
    deploy(sm, "metered", model_tar(models, "v1"))
    for _ in range(6):
        invoke_label(rt, "metered")
    deploy(sm, "failing", model_tar(models / "bad", "bad", FAILING_CODE))
    for _ in range(4):
        with pytest.raises(ClientError):
            invoke_label(rt, "failing")
    return {"sm": sm, "rt": rt}


def recent() -> dict[str, datetime]:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}


def statistics(cw: Any, metric: str, endpoint: str = "metered", **more: Any) -> dict[str, Any]:
    dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "primary"}]
    answer = cw.get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName=metric, Dimensions=dims, Period=3600, **recent(), **more
    )
    assert len(answer["Datapoints"]) <= 1
    return dict(answer["Datapoints"][0]) if answer["Datapoints"] else {}


def test_invocations_publish_the_sagemaker_metrics(cw: Any, metered: dict[str, Any]) -> None:
    listed = cw.list_metrics(Namespace="AWS/SageMaker", Dimensions=[{"Name": "EndpointName", "Value": "metered"}])
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert {"Invocations", "InvocationsPerInstance", "Invocation4XXErrors", "Invocation5XXErrors",
            "ModelLatency", "OverheadLatency"} <= names  # fmt: skip
    assert all(m["Dimensions"] == DIMS for m in listed["Metrics"] if m["MetricName"] == "Invocations")
    assert statistics(cw, "Invocations", Statistics=["Sum"])["Sum"] == 6
    assert statistics(cw, "Invocation5XXErrors", Statistics=["Sum"])["Sum"] == 0
    assert statistics(cw, "Invocation5XXErrors", "failing", Statistics=["Sum"])["Sum"] == 4
    assert statistics(cw, "Invocation4XXErrors", "failing", Statistics=["Sum"])["Sum"] == 0
    latency = statistics(cw, "ModelLatency", Statistics=["SampleCount", "Minimum", "Maximum"], ExtendedStatistics=["p50"])
    assert latency["SampleCount"] == 6 and latency["Unit"] == "Microseconds"
    assert 10 < latency["Minimum"] <= latency["ExtendedStatistics"]["p50"] <= latency["Maximum"] < 30_000_000


def test_metric_math_in_get_metric_data(cw: Any, metered: dict[str, Any]) -> None:
    def stat(query_id: str, metric: str) -> dict[str, Any]:
        metric_spec = {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": DIMS}
        return {"Id": query_id, "MetricStat": {"Metric": metric_spec, "Period": 3600, "Stat": "Sum"}, "ReturnData": False}

    answer = cw.get_metric_data(
        MetricDataQueries=[stat("ok", "Invocations"), stat("bad", "Invocation5XXErrors"),
                           {"Id": "rate", "Expression": "bad / ok * 100 + 1", "Label": "rate"}],  # fmt: skip
        **recent(),
    )
    [result] = answer["MetricDataResults"]
    assert result["Id"] == "rate" and result["Values"] == [1.0] and result["StatusCode"] == "Complete"


def test_aws_cli_get_metric_statistics(server: ServerProcess, metered: dict[str, Any]) -> None:
    window = recent()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    command = [
        str(Path(sys.executable).parent / "aws"), "cloudwatch", "get-metric-statistics", "--endpoint-url", server.url,
        "--namespace", "AWS/SageMaker", "--metric-name", "Invocations",
        "--dimensions", "Name=EndpointName,Value=metered", "Name=VariantName,Value=primary",
        "--start-time", window["StartTime"].isoformat(), "--end-time", window["EndTime"].isoformat(),
        "--period", "3600", "--statistics", "Sum", "--output", "json",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["Label"] == "Invocations"
    assert [p["Sum"] for p in answer["Datapoints"]] == [6.0]


def test_put_metric_data_and_its_refusals(cw: Any) -> None:
    now = datetime.now(timezone.utc)
    cw.put_metric_data(Namespace="Team/Churn", MetricData=[
        {"MetricName": "Score", "Value": 2.0, "Timestamp": now},
        {"MetricName": "Score", "Values": [4.0, 10.0], "Counts": [1, 2], "Timestamp": now},
    ])  # fmt: skip
    point = cw.get_metric_statistics(Namespace="Team/Churn", MetricName="Score", Period=3600, **recent(),
                                     Statistics=["Sum", "SampleCount", "Average", "Maximum"])["Datapoints"][0]  # fmt: skip
    assert (point["Sum"], point["SampleCount"], point["Average"], point["Maximum"]) == (26.0, 4.0, 6.5, 10.0)
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{"MetricName": "Invocations", "Value": 1}])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        cw.get_metric_statistics(Namespace="Team/Churn", MetricName="Score", Period=1, Statistics=["Sum"],
                                 StartTime=now - timedelta(days=1), EndTime=now)  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["never-made"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


def alarm_states(cw: Any, name: str) -> list[str]:
    return [a["StateValue"] for a in cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]]


def wait_state(cw: Any, name: str, state: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        if alarm["StateValue"] == state:
            return dict(alarm)
        time.sleep(0.05)
    raise AssertionError(f"{name} never went {state}: {alarm['StateValue']} ({alarm['StateReason']})")


def test_alarm_goes_alarm_on_5xx_and_back_to_ok(cw: Any, metered: dict[str, Any]) -> None:
    name = alarm_on_5xx(cw, "failing")
    alarm = wait_state(cw, name, "OK")  # no errors in the last minute; missing data is not breaching
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    with pytest.raises(ClientError):
        invoke_label(metered["rt"], "failing")
    alarm = wait_state(cw, name, "ALARM")
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [1 (")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [1.0]
    assert alarm["StateUpdatedTimestamp"] > alarm["AlarmConfigurationUpdatedTimestamp"]
    assert wait_state(cw, name, "OK")["StateReason"].startswith("Threshold Crossed")


def test_missing_data_treatments(cw: Any, metered: dict[str, Any]) -> None:
    base = {"Namespace": "AWS/SageMaker", "MetricName": "NoSuchMetric", "Dimensions": DIMS, "Statistic": "Sum",
            "Period": 60, "EvaluationPeriods": 2, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}  # fmt: skip
    cw.put_metric_alarm(AlarmName="nodata-missing", **base)
    cw.put_metric_alarm(AlarmName="nodata-breaching", TreatMissingData="breaching", **base)
    cw.put_metric_alarm(AlarmName="nodata-not-breaching", TreatMissingData="notBreaching", **base)
    cw.put_metric_alarm(AlarmName="nodata-ignore", TreatMissingData="ignore", **base)
    breaching = wait_state(cw, "nodata-breaching", "ALARM")
    assert breaching["StateReason"] == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]."
    )
    assert wait_state(cw, "nodata-not-breaching", "OK")["StateReason"].endswith("treated as [NonBreaching].")
    missing = wait_state(cw, "nodata-missing", "INSUFFICIENT_DATA")
    assert missing["StateReason"] == "Insufficient Data: 2 datapoints were unknown."
    assert alarm_states(cw, "nodata-ignore") == ["INSUFFICIENT_DATA"]
    assert cw.describe_alarms(AlarmNames=["nodata-ignore"])["MetricAlarms"][0]["StateReason"] == (
        "Unchecked: Initial alarm creation"
    )
    # An idle endpoint publishes zero invocations each minute: an alarm on them finds data.
    cw.put_metric_alarm(AlarmName="idle-invocations", **{**base, "MetricName": "Invocations"})
    assert wait_state(cw, "idle-invocations", "OK")["StateReason"].startswith("Threshold Crossed: 2 datapoints [0 (")


def test_set_alarm_state_holds_until_the_next_evaluation(cw: Any, metered: dict[str, Any]) -> None:
    cw.put_metric_alarm(
        AlarmName="manual", Namespace="AWS/SageMaker", MetricName="Invocations", Dimensions=DIMS, Statistic="Sum",
        Period=600, EvaluationPeriods=1, Threshold=1000, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    wait_state(cw, "manual", "OK")
    cw.set_alarm_state(AlarmName="manual", StateValue="ALARM", StateReason="testing the pager")
    alarm = cw.describe_alarms(AlarmNames=["manual"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "testing the pager")
    assert wait_state(cw, "manual", "OK")["StateReason"].startswith("Threshold Crossed")
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(AlarmName="never-made", StateValue="OK", StateReason="x")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


def test_alarm_refusals_and_tags(cw: Any) -> None:
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(AlarmName="odd", Namespace="N", MetricName="M", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                            AlarmActions=["arn:aws:sns:us-east-1:000000000000:pager"])  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "Application Auto Scaling policy actions only" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(AlarmName="odd", Metrics=[{"Id": "e", "Expression": "SUM(METRICS())"}],
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(AlarmName="odd", Namespace="N", MetricName="M", Statistic="Sum", Period=45,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert cw.describe_alarms(AlarmNames=["odd"])["MetricAlarms"] == []
    cw.put_metric_alarm(AlarmName="tagged", Namespace="N", MetricName="M", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        Tags=[{"Key": "team", "Value": "churn"}])  # fmt: skip
    arn = cw.describe_alarms(AlarmNames=["tagged"])["MetricAlarms"][0]["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "tier", "Value": "prod"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "tier", "Value": "prod"}]
    cw.delete_alarms(AlarmNames=["tagged"])
    assert cw.describe_alarms(AlarmNames=["tagged"])["MetricAlarms"] == []


def raw(server: ServerProcess, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_requests_are_validated_against_botocores_model(server: ServerProcess) -> None:
    """Raw requests, as a client other than boto3 could send them, in CBOR and in JSON 1.0."""
    cbor = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
    status, headers, body = raw(server, "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
                                cbor2.dumps({"MaxRecords": 0}), cbor)  # fmt: skip  # below the minimum of 1
    assert status == 400 and headers["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(body)["__type"] == "ValidationException"
    assert headers["x-amzn-query-error"] == "ValidationError;Sender"
    target = {"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics",
              "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip
    status, headers, body = raw(server, "/", json.dumps({"Namespace": "AWS/SageMaker"}).encode(), target)
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.0"
    assert isinstance(json.loads(body)["Metrics"], list)
    status, _, body = raw(server, "/service/GraniteServiceVersion20100801/operation/PutDashboard", b"", cbor)
    assert status == 400 and cbor2.loads(body)["__type"] == "UnknownOperationException"


def test_arns_name_the_region_the_client_signed_for(server: ServerProcess) -> None:
    cw = boto3.client("cloudwatch", endpoint_url=server.url, region_name="eu-west-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    cw.put_metric_alarm(AlarmName="regional", Namespace="N", MetricName="M", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    arn = cw.describe_alarms(AlarmNames=["regional"])["MetricAlarms"][0]["AlarmArn"]
    assert arn == "arn:aws:cloudwatch:eu-west-1:000000000000:alarm:regional"


def query_call(server: ServerProcess, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """`operation` in the query protocol, serialized and parsed by botocore's own query codec."""
    model = boto3.session.Session().client("cloudwatch", region_name="us-east-1").meta.service_model
    op = model.operation_model(operation)
    request = serialize.create_serializer("query").serialize_to_request(params, op)
    body = request["body"] if isinstance(request["body"], bytes) else urlencode(request["body"]).encode()
    status, headers, answer = raw(server, "/", body, {"Content-Type": "application/x-www-form-urlencoded"})
    parsed = parsers.create_parser("query").parse(
        {"status_code": status, "headers": headers, "body": answer}, op.output_shape
    )
    return status, parsed


def test_the_query_protocol(server: ServerProcess, metered: dict[str, Any]) -> None:
    alarm = {"AlarmName": "by-query", "Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": DIMS,
             "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
             "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}  # fmt: skip
    assert query_call(server, "PutMetricAlarm", alarm)[0] == 200
    status, parsed = query_call(server, "DescribeAlarms", {"AlarmNames": ["by-query"]})
    [described] = parsed["MetricAlarms"]
    assert status == 200 and described["Dimensions"] == DIMS and described["Threshold"] == 1.0
    assert isinstance(described["StateUpdatedTimestamp"], datetime)
    status, parsed = query_call(server, "GetMetricStatistics", {
        "Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": DIMS, "Period": 3600,
        "Statistics": ["Sum"], **recent()})  # fmt: skip
    assert status == 200 and [p["Sum"] for p in parsed["Datapoints"]] == [6.0]
    status, parsed = query_call(server, "DeleteAlarms", {"AlarmNames": ["no-such-alarm"]})
    assert status == 404 and parsed["Error"]["Code"] == "ResourceNotFound"

"""Create the CloudWatch alarm the endpoint's auto-rollback watches.

    python alarm.py ENDPOINT [--url http://127.0.0.1:8766] [--variant primary]

`<ENDPOINT>-5xx-rate` goes to ALARM when more than 10% of the variant's
invocations in a minute answered 5xx: metric math (`errors / invocations * 100`)
over the `AWS/SageMaker` metrics the endpoint publishes. The same call works
against AWS (drop `--url`). smstate will manage alarms itself; until then this
script makes it with boto3.
"""

from __future__ import annotations

import argparse

import boto3


def metric(query_id: str, name: str, endpoint: str, variant: str) -> dict[str, object]:
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    return {
        "Id": query_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": name, "Dimensions": dimensions},
            "Period": 60,
            "Stat": "Sum",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("--url", default="http://127.0.0.1:8766")
    parser.add_argument("--variant", default="primary")
    args = parser.parse_args()
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=args.url or None, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    name = f"{args.endpoint}-5xx-rate"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        AlarmDescription="More than 10% of the invocations of a minute answered 5xx",
        Metrics=[
            metric("errors", "Invocation5XXErrors", args.endpoint, args.variant),
            metric("invocations", "Invocations", args.endpoint, args.variant),
            {"Id": "rate", "Expression": "errors / invocations * 100", "ReturnData": True},
        ],
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    print(f"alarm {name} created")


if __name__ == "__main__":
    main()

"""The CloudWatch operations the local server implements."""

from __future__ import annotations

import math
from typing import Any

from providers.local.cloudwatch import queries, statistics
from providers.local.cloudwatch.alarms import Alarms
from providers.local.errors import ApiError
from providers.local.metrics import SeriesKey, dimensions
from providers.local.services import Handler, Params, Service, current_region

#: CloudWatch's limit on the data points one GetMetricStatistics call returns.
MAX_DATAPOINTS = 1440


def windows(start: float, end: float, period: int) -> list[queries.Window]:
    """The periods from `start` to `end`; refused past CloudWatch's data point limit."""
    if end <= start:
        raise statistics.invalid("The parameter StartTime must be less than the parameter EndTime.")
    start = start // period * period  # periods begin on multiples of the period, as CloudWatch's
    count = math.ceil((end - start) / period)
    if count > MAX_DATAPOINTS:
        raise ApiError(
            "InvalidParameterCombinationException",
            f"You have requested up to {count} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
        )
    return [(start + i * period, min(start + (i + 1) * period, end)) for i in range(count)]


class CloudWatch:
    """The handlers, over one alarm set (and its metric store)."""

    def __init__(self, alarms: Alarms) -> None:
        self.alarms = alarms
        self.store = alarms.store

    def service(self) -> Service:
        operations: dict[str, Handler] = {
            "PutMetricAlarm": self.put_metric_alarm,
            "DescribeAlarms": self.describe_alarms,
            "DeleteAlarms": self.delete_alarms,
            "SetAlarmState": self.set_alarm_state,
            "GetMetricStatistics": self.get_metric_statistics,
            "GetMetricData": self.get_metric_data,
            "ListMetrics": self.list_metrics,
            "PutMetricData": self.put_metric_data,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags,
        }
        return Service("cloudwatch", operations)

    async def put_metric_alarm(self, params: Params) -> dict[str, Any]:
        self.alarms.put(params, current_region.get())
        return {}

    async def describe_alarms(self, params: Params) -> dict[str, Any]:
        found = sorted(self.alarms.alarms.values(), key=lambda a: a["AlarmName"])
        names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
        state, action = params.get("StateValue"), params.get("ActionPrefix")
        if names:
            found = [a for a in found if a["AlarmName"] in names]
        if prefix:
            found = [a for a in found if a["AlarmName"].startswith(prefix)]
        if state:
            found = [a for a in found if a["StateValue"] == state]
        if action:
            found = [a for a in found if any(x.startswith(action) for x in a["AlarmActions"])]
        if params.get("AlarmTypes") and "MetricAlarm" not in params["AlarmTypes"]:
            found = []
        start = _token(params.get("NextToken"))
        size = int(params.get("MaxRecords") or 100)
        result: dict[str, Any] = {"MetricAlarms": [dict(a) for a in found[start : start + size]], "CompositeAlarms": []}
        if start + size < len(found):
            result["NextToken"] = str(start + size)
        return result

    async def delete_alarms(self, params: Params) -> dict[str, Any]:
        self.alarms.delete(params["AlarmNames"])
        return {}

    async def set_alarm_state(self, params: Params) -> dict[str, Any]:
        name, state = params["AlarmName"], params["StateValue"]
        await self.alarms.set_state(name, state, params["StateReason"], params.get("StateReasonData"))
        return {}

    async def get_metric_statistics(self, params: Params) -> dict[str, Any]:
        stats = params.get("Statistics") or []
        extended = params.get("ExtendedStatistics") or []
        if not stats and not extended:
            raise ApiError("MissingRequiredParameterException", "Statistics or ExtendedStatistics must be specified.")
        for name in extended:
            statistics.check_statistic(name)
        key: SeriesKey = (params["Namespace"], params["MetricName"], dimensions(params.get("Dimensions")))
        points = []
        for start, end in windows(params["StartTime"], params["EndTime"], int(params["Period"])):
            window = self.store.window(key, start, end)
            if window is None or not window.count:
                continue
            point: dict[str, Any] = {"Timestamp": start, "Unit": params.get("Unit") or window.unit}
            point.update({name: statistics.value(window, name) for name in stats})
            if extended:
                point["ExtendedStatistics"] = {name: statistics.value(window, name) for name in extended}
            points.append(point)
        return {"Label": params["MetricName"], "Datapoints": points}

    async def get_metric_data(self, params: Params) -> dict[str, Any]:
        found = params["MetricDataQueries"]
        queries.check(found)
        spans = windows(params["StartTime"], params["EndTime"], queries.period_of(found))
        values = queries.evaluate(self.store, found, spans)
        newest_first = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries.returned(found):
            pairs = [(s, v) for (s, _), v in zip(spans, values[query["Id"]]) if v is not None]
            if newest_first:
                pairs.reverse()
            metric = query["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in query else query["Id"]
            label = query.get("Label") or metric
            results.append({"Id": query["Id"], "Label": label, "Timestamps": [s for s, _ in pairs],
                            "Values": [v for _, v in pairs], "StatusCode": "Complete"})  # fmt: skip
        return {"MetricDataResults": results, "Messages": []}

    async def list_metrics(self, params: Params) -> dict[str, Any]:
        namespace, name = params.get("Namespace"), params.get("MetricName")
        filters = params.get("Dimensions") or []
        found = []
        for space, metric, dims in sorted(self.store.keys()):
            if (namespace and space != namespace) or (name and metric != name):
                continue
            given = dict(dims)
            if all(f["Name"] in given and f.get("Value", given[f["Name"]]) == given[f["Name"]] for f in filters):
                found.append({"Namespace": space, "MetricName": metric,
                              "Dimensions": [{"Name": k, "Value": v} for k, v in dims]})  # fmt: skip
        return {"Metrics": found}

    async def put_metric_data(self, params: Params) -> dict[str, Any]:
        namespace = params["Namespace"]
        if namespace.startswith("AWS/"):
            raise statistics.invalid(f"The value {namespace} for parameter Namespace is invalid.")
        for datum in params["MetricData"]:
            key = (namespace, datum["MetricName"], dimensions(datum.get("Dimensions")))
            when, unit = datum.get("Timestamp"), datum.get("Unit") or "None"
            if "Value" in datum:
                self.store.put(key, float(datum["Value"]), when, unit)
            for index, value in enumerate(datum.get("Values") or []):
                counts = datum.get("Counts") or []
                for _ in range(int(counts[index]) if index < len(counts) else 1):
                    self.store.put(key, float(value), when, unit)
            summary = datum.get("StatisticValues")
            if summary:
                self.store.put_summary(key, summary, when, unit)
        return {}

    async def tag_resource(self, params: Params) -> dict[str, Any]:
        tags = self._tags(params["ResourceARN"])
        keys = {t["Key"] for t in params["Tags"]}
        tags[:] = [t for t in tags if t["Key"] not in keys] + list(params["Tags"])
        return {}

    async def untag_resource(self, params: Params) -> dict[str, Any]:
        tags = self._tags(params["ResourceARN"])
        tags[:] = [t for t in tags if t["Key"] not in set(params["TagKeys"])]
        return {}

    async def list_tags(self, params: Params) -> dict[str, Any]:
        return {"Tags": list(self._tags(params["ResourceARN"]))}

    def _tags(self, arn: str) -> list[dict[str, str]]:
        if not any(a["AlarmArn"] == arn for a in self.alarms.alarms.values()):
            raise ApiError("ResourceNotFoundException", f"The resource {arn} does not exist.", 404)
        return self.alarms.tags.setdefault(arn, [])


def _token(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise ApiError("InvalidNextToken", "The NextToken is invalid.")
    return int(token)

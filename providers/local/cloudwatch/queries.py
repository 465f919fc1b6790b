"""Metric data queries (`MetricDataQuery`): a metric's statistic per time window,
or a metric math expression over other queries. Pure over the store."""

from __future__ import annotations

from typing import Any

from providers.local.cloudwatch import expressions, statistics
from providers.local.errors import ApiError
from providers.local.metrics import MetricStore, SeriesKey, dimensions

Window = tuple[float, float]


def series_key(metric: dict[str, Any]) -> SeriesKey:
    return (metric["Namespace"], metric["MetricName"], dimensions(metric.get("Dimensions")))


def metric_values(store: MetricStore, key: SeriesKey, stat: str, windows: list[Window]) -> list[float | None]:
    """`stat` of series `key` in each window; None where it has no data."""
    found = []
    for start, end in windows:
        window = store.window(key, start, end)
        found.append(statistics.value(window, stat) if window is not None and window.count else None)
    return found


def check(queries: list[dict[str, Any]]) -> None:
    """Refuse a query list CloudWatch would refuse (or that this server cannot evaluate)."""
    ids = [q["Id"] for q in queries]
    if len(set(ids)) != len(ids):
        raise ApiError("ValidationException", "The values for parameter id in MetricDataQueries are not unique.")
    for query in queries:
        if ("MetricStat" in query) == ("Expression" in query):
            raise ApiError(
                "ValidationException",
                f"Exactly one of MetricStat and Expression must be set in the query {query['Id']}.",
            )
        if "MetricStat" in query:
            statistics.check_statistic(query["MetricStat"]["Stat"])
        else:
            unknown = expressions.names(expressions.parse(query["Expression"])) - set(ids)
            if unknown:
                raise ApiError(
                    "ValidationException",
                    f"Unrecognized metric ids {sorted(unknown)} in the expression of {query['Id']}.",
                )


def evaluate(store: MetricStore, queries: list[dict[str, Any]], windows: list[Window]) -> dict[str, list[float | None]]:
    """Every query's value per window (expressions after the metrics they use)."""
    results: dict[str, list[float | None]] = {}
    for query in queries:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            results[query["Id"]] = metric_values(store, series_key(stat["Metric"]), stat["Stat"], windows)
    pending = [q for q in queries if "Expression" in q]
    while pending:
        ready = [q for q in pending if expressions.names(expressions.parse(q["Expression"])) <= set(results)]
        if not ready:
            raise ApiError("ValidationException", "Metric math expressions refer to each other in a cycle.")
        for query in ready:
            tree = expressions.parse(query["Expression"])
            results[query["Id"]] = [
                expressions.evaluate(tree, {k: v[i] for k, v in results.items()}) for i in range(len(windows))
            ]
            pending.remove(query)
    return results


def returned(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The queries whose data is returned (ReturnData defaults to true)."""
    return [q for q in queries if q.get("ReturnData", True)]


def period_of(queries: list[dict[str, Any]]) -> int:
    """The period of a query list: its first MetricStat's, else the first Period given."""
    for query in queries:
        if "MetricStat" in query:
            return int(query["MetricStat"]["Period"])
    for query in queries:
        if query.get("Period"):
            return int(query["Period"])
    return 60

"""Metric data points, kept in memory the way CloudWatch keeps them.

A series is (namespace, metric name, dimensions). Each value lands in the bucket
of its time (`resolution` wall-clock seconds wide), which keeps only the count,
sum, minimum, maximum and a bounded sample of values (for percentiles): adding
a value is a few dict lookups and additions, so the invocation path can publish
six metrics per request without I/O. Buckets older than `retention` are dropped
as new ones start. Nothing is persisted: a restarted server starts with no data.

`Metrics.invocation` publishes what SageMaker publishes per request in the
`AWS/SageMaker` namespace, per EndpointName + VariantName (and, given an
inference component, per InferenceComponentName as well, with InvocationsPerCopy
in place of InvocationsPerInstance).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from providers.local.settings import time_scale

Dimensions = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Dimensions]

NAMESPACE = "AWS/SageMaker"

#: Values kept per bucket for percentiles; past it the sample stops growing.
SAMPLE_LIMIT = 1000

#: One bucket per scaled second (at least this many wall-clock seconds).
MIN_RESOLUTION = 0.05

#: Data older than a scaled day is dropped.
RETENTION_SCALED_SECONDS = 86400.0


@dataclass
class Stat:
    """The summary of the values of one bucket (or of several, merged)."""

    count: float = 0.0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    values: list[float] = field(default_factory=list)
    unit: str = "None"

    def add(self, value: float, count: float = 1.0) -> None:
        self.count += count
        self.total += value * count
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        if len(self.values) < SAMPLE_LIMIT:
            self.values.append(value)

    def merge(self, other: Stat) -> None:
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        room = SAMPLE_LIMIT - len(self.values)
        if room > 0:
            self.values.extend(other.values[:room])
        self.unit = other.unit


def dimensions(items: list[dict[str, str]] | None) -> Dimensions:
    """Request dimensions ([{Name, Value}]) in the store's key form (sorted)."""
    return tuple(sorted((d["Name"], d["Value"]) for d in items or []))


class MetricStore:
    """Every series' buckets."""

    def __init__(self, resolution: float | None = None) -> None:
        self.resolution = resolution or max(MIN_RESOLUTION, time_scale())
        self.retention = max(RETENTION_SCALED_SECONDS * time_scale(), 3600.0)
        self.series: dict[SeriesKey, dict[int, Stat]] = {}
        self._oldest = 0

    def bucket_of(self, when: float) -> int:
        return int(when // self.resolution)

    def put(self, key: SeriesKey, value: float, when: float | None = None, unit: str = "None") -> None:
        self._stat(key, when, unit).add(value)

    def put_summary(self, key: SeriesKey, summary: dict[str, float], when: float | None, unit: str) -> None:
        """PutMetricData's StatisticValues: a set of values given by their summary."""
        stat = self._stat(key, when, unit)
        stat.count += summary["SampleCount"]
        stat.total += summary["Sum"]
        stat.low = min(stat.low, summary["Minimum"])
        stat.high = max(stat.high, summary["Maximum"])

    def _stat(self, key: SeriesKey, when: float | None, unit: str) -> Stat:
        bucket = self.bucket_of(time.time() if when is None else when)
        buckets = self.series.get(key)
        if buckets is None:
            buckets = self.series[key] = {}
        stat = buckets.get(bucket)
        if stat is None:
            stat = buckets[bucket] = Stat(unit=unit)
            self._expire(bucket)
        return stat

    def window(self, key: SeriesKey, start: float, end: float) -> Stat | None:
        """The merged buckets of `key` whose time is in [start, end); None when there are none."""
        buckets = self.series.get(key)
        if not buckets:
            return None
        merged: Stat | None = None
        first, last = self.bucket_of(start), self.bucket_of(end)
        if last - first > len(buckets):
            chosen: Iterator[Stat] = (s for b, s in buckets.items() if first <= b < last)
        else:
            chosen = (buckets[b] for b in range(first, last) if b in buckets)
        for stat in chosen:
            if merged is None:
                merged = Stat(unit=stat.unit)
            merged.merge(stat)
        return merged

    def keys(self) -> list[SeriesKey]:
        return list(self.series)

    def _expire(self, bucket: int) -> None:
        horizon = bucket - int(self.retention / self.resolution)
        if horizon <= self._oldest:
            return
        self._oldest = horizon + max(1, int(60 / self.resolution))  # look again a minute of buckets later
        for key in list(self.series):
            buckets = self.series[key]
            for old in [b for b in buckets if b < horizon]:
                del buckets[old]
            if not buckets:
                del self.series[key]


#: What each invocation publishes, in this order, with these units.
INVOCATION_METRICS = (
    ("Invocations", "None"),
    ("InvocationsPerInstance", "None"),
    ("Invocation4XXErrors", "None"),
    ("Invocation5XXErrors", "None"),
    ("ModelLatency", "Microseconds"),
    ("OverheadLatency", "Microseconds"),
)

#: What an invocation naming an inference component publishes per InferenceComponentName:
#: the same, but normalized by the component's copies rather than the variant's instances.
COMPONENT_METRICS = tuple(
    ("InvocationsPerCopy", unit) if name == "InvocationsPerInstance" else (name, unit) for name, unit in INVOCATION_METRICS
)

#: The counts an idle series gets a zero for.
COUNTS = ("Invocations", "InvocationsPerInstance", "InvocationsPerCopy", "Invocation4XXErrors", "Invocation5XXErrors")


class Metrics:
    """What the invocation gateway publishes."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self._keys: dict[Dimensions, list[tuple[SeriesKey, str]]] = {}

    def invocation(
        self,
        endpoint: str,
        variant: str,
        instances: int,
        status: int,
        model_us: float,
        overhead_us: float,
        component: tuple[str, int] | None = None,
    ) -> None:
        """One InvokeEndpoint answered with the model's `status` (0: no answer); `component`
        is the (name, copies now) of the inference component it named."""
        client = 1.0 if 400 <= status < 500 else 0.0
        server = 1.0 if status >= 500 or status == 0 else 0.0
        now = time.time()
        dim: Dimensions = (("EndpointName", endpoint), ("VariantName", variant))
        self._put(dim, INVOCATION_METRICS, (1.0, 1.0 / max(instances, 1), client, server, model_us, overhead_us), now)
        if component is not None:
            name, copies = component
            values = (1.0, 1.0 / max(copies, 1), client, server, model_us, overhead_us)
            self._put((("InferenceComponentName", name),), COMPONENT_METRICS, values, now)

    def _put(self, dim: Dimensions, metrics: tuple[tuple[str, str], ...], values: tuple[float, ...], now: float) -> None:
        keys = self._keys.get(dim)
        if keys is None:
            keys = self._keys[dim] = [((NAMESPACE, name, dim), unit) for name, unit in metrics]
        for (key, unit), value in zip(keys, values):
            self.store.put(key, value, now, unit)

    def idle(self, endpoint: str, variant: str, seconds: float) -> None:
        """Zero invocations and errors for a variant that had no invocation in the last `seconds`."""
        self._idle((("EndpointName", endpoint), ("VariantName", variant)), INVOCATION_METRICS, seconds)

    def idle_component(self, name: str, seconds: float) -> None:
        """Zero invocations and errors for an inference component that had none in the last `seconds`."""
        self._idle((("InferenceComponentName", name),), COMPONENT_METRICS, seconds)

    def _idle(self, dim: Dimensions, metrics: tuple[tuple[str, str], ...], seconds: float) -> None:
        now = time.time()
        seen = self.store.window((NAMESPACE, "Invocations", dim), now - seconds, now + self.store.resolution)
        if seen is not None and seen.count:
            return
        for name, _ in metrics:
            if name in COUNTS:
                self.store.put((NAMESPACE, name, dim), 0.0, now, "None")

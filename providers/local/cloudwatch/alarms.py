"""Metric alarms: their definitions, their states, and their evaluation.

An alarm is evaluated once per its period (at most once a minute of policy
time), both scaled by `SMSTATE_LOCAL_TIME_SCALE`, over the periods that just
ended. A state set by SetAlarmState holds until that next evaluation decides
otherwise, as in CloudWatch. On every change of state the actions of the new
state run; an Application Auto Scaling policy named in `AlarmActions` runs on
every evaluation that finds the alarm in ALARM, as CloudWatch keeps invoking
scaling policies while an alarm stays in ALARM.

Only actions the local server can perform are accepted: scaling policy ARNs
(`arn:aws:autoscaling:`). Alarms are kept by `aws_services` in `<home>/services.json`, so they outlive a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from providers.local.cloudwatch import judge, queries, statistics
from providers.local.errors import ApiError
from providers.local.metrics import MetricStore
from providers.local.settings import ACCOUNT_ID, time_scale

log = logging.getLogger("smstate.local")

SCALING_ACTION = "arn:aws:autoscaling:"
ACTION_LISTS = ("AlarmActions", "OKActions", "InsufficientDataActions")

#: Runs one action ARN for an alarm (its description, as DescribeAlarms shows it).
Action = Callable[[str, dict[str, Any]], Awaitable[None]]


def alarm_queries(alarm: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The alarm as metric data queries, and the id of the one it compares."""
    if alarm.get("Metrics"):
        chosen = queries.returned(alarm["Metrics"])
        return alarm["Metrics"], chosen[0]["Id"]
    metric: dict[str, Any] = {k: alarm[k] for k in ("Namespace", "MetricName") if k in alarm}
    metric["Dimensions"] = alarm.get("Dimensions") or []
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    return [{"Id": "m1", "MetricStat": {"Metric": metric, "Period": alarm["Period"], "Stat": stat}}], "m1"


def check(params: dict[str, Any]) -> None:
    """Refuse a PutMetricAlarm that CloudWatch (or this server) would refuse."""
    invalid = statistics.invalid
    if bool(params.get("Metrics")) == bool(params.get("MetricName")):
        raise ApiError("ValidationException", "Exactly one of MetricName and Metrics must be specified.")
    if params.get("MetricName"):
        if bool(params.get("Statistic")) == bool(params.get("ExtendedStatistic")):
            raise invalid("Exactly one of Statistic and ExtendedStatistic must be specified.")
        if not params.get("Period") or not params.get("Namespace"):
            raise ApiError("ValidationException", "Period and Namespace must be specified with MetricName.")
        if params["Period"] not in (10, 20, 30) and params["Period"] % 60:
            raise invalid(f"The value {params['Period']} for parameter Period is invalid: it must be 10, 20, 30 "
                          "or a multiple of 60.")  # fmt: skip
        statistics.check_statistic(params.get("Statistic") or params["ExtendedStatistic"])
    else:
        queries.check(params["Metrics"])
        if len(queries.returned(params["Metrics"])) != 1:
            raise ApiError("ValidationException", "Exactly one element of the metrics list should return data.")
    judge.check_operator(params["ComparisonOperator"])
    if params.get("Threshold") is None:
        raise ApiError("ValidationException", "Threshold must be specified.")
    if int(params.get("DatapointsToAlarm") or 1) > int(params["EvaluationPeriods"]):
        raise ApiError("ValidationException", "DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
    for member in ACTION_LISTS:
        for action in params.get(member) or []:
            if not action.startswith(SCALING_ACTION):
                raise ApiError(
                    "ValidationException",
                    f"Invalid action {action}: the local server performs Application Auto Scaling policy actions only.",
                )


class Alarms:
    """Every alarm, by name; `run` evaluates them as time passes."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self.alarms: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, list[dict[str, str]]] = {}
        self.actions: dict[str, Action] = {}
        self._due: dict[str, float] = {}

    def state(self, name: str) -> str | None:
        alarm = self.alarms.get(name)
        return alarm["StateValue"] if alarm else None

    def put(self, params: dict[str, Any], region: str) -> None:
        check(params)
        name = params["AlarmName"]
        now = time.time()
        alarm = {k: v for k, v in params.items() if k != "Tags"}
        alarm.setdefault("ActionsEnabled", True)
        for member in ACTION_LISTS:
            alarm.setdefault(member, [])
        alarm["AlarmArn"] = f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{name}"
        alarm["AlarmConfigurationUpdatedTimestamp"] = now
        old = self.alarms.get(name)
        state = ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp")
        if old is not None:
            alarm.update({k: old[k] for k in state if k in old})
        else:
            alarm.update(StateValue="INSUFFICIENT_DATA", StateReason="Unchecked: Initial alarm creation",
                         StateUpdatedTimestamp=now, StateTransitionedTimestamp=now)  # fmt: skip
        self.alarms[name] = alarm
        if params.get("Tags"):
            self.tags[alarm["AlarmArn"]] = list(params["Tags"])
        self._due[name] = now  # evaluate at once

    def restore(self, alarm: dict[str, Any], now: float) -> None:
        """An alarm saved by an earlier server, evaluated again from now."""
        self.alarms[alarm["AlarmName"]] = alarm
        self._due[alarm["AlarmName"]] = now

    def delete(self, names: list[str]) -> None:
        missing = [n for n in names if n not in self.alarms]
        if missing:
            raise ApiError("ResourceNotFound", f"The alarm(s) {', '.join(missing)} do not exist.", 404)
        for name in names:
            alarm = self.alarms.pop(name)
            self.tags.pop(alarm["AlarmArn"], None)
            self._due.pop(name, None)

    async def set_state(self, name: str, state: str, reason: str, data: str | None) -> None:
        alarm = self.alarms.get(name)
        if alarm is None:
            raise ApiError("ResourceNotFound", f"The alarm {name} does not exist.", 404)
        await self._change(alarm, judge.Verdict(state, reason, data or ""))
        self._due[name] = time.time() + self.interval(alarm)

    def interval(self, alarm: dict[str, Any]) -> float:
        """Wall-clock seconds between two evaluations of `alarm`."""
        period = queries.period_of(alarm_queries(alarm)[0])
        return max(min(period, 60) * time_scale(), 0.01)

    async def run(self) -> None:
        """Evaluate each alarm when it is due, until cancelled."""
        tick = max(0.02, min(1.0, 5 * time_scale()))
        while True:
            await self.evaluate_due(time.time())
            await asyncio.sleep(tick)

    async def evaluate_due(self, now: float) -> None:
        for name, alarm in list(self.alarms.items()):
            if self._due.get(name, 0.0) <= now:
                self._due[name] = now + self.interval(alarm)
                try:
                    await self.evaluate(alarm, now)
                except Exception:  # one alarm's failure must not stop the others' evaluation
                    log.exception("evaluating alarm %s failed", name)

    async def evaluate(self, alarm: dict[str, Any], now: float) -> None:
        found, returned_id = alarm_queries(alarm)
        period = queries.period_of(found) * time_scale()
        count = int(alarm["EvaluationPeriods"])
        starts = [now - (count - i) * period for i in range(count)]
        windows = [(s, s + period) for s in starts]
        values = queries.evaluate(self.store, found, windows)[returned_id]
        verdict = judge.judge(alarm, values, starts, now)
        unchecked = alarm["StateReason"].startswith("Unchecked")  # the first evaluation gives its reason
        if verdict is not None and (verdict.state != alarm["StateValue"] or unchecked):
            await self._change(alarm, verdict)
        elif alarm["StateValue"] == "ALARM" and alarm["ActionsEnabled"]:
            await self._run(alarm, [a for a in alarm["AlarmActions"] if a.startswith(SCALING_ACTION)])

    async def _change(self, alarm: dict[str, Any], verdict: judge.Verdict) -> None:
        now = time.time()
        changed = verdict.state != alarm["StateValue"]
        alarm.update(StateValue=verdict.state, StateReason=verdict.reason, StateUpdatedTimestamp=now)
        alarm["StateReasonData"] = verdict.data
        if not verdict.data:
            alarm.pop("StateReasonData")
        if changed:
            alarm["StateTransitionedTimestamp"] = now
            log.info("alarm %s is %s: %s", alarm["AlarmName"], verdict.state, verdict.reason)
        if changed and alarm["ActionsEnabled"]:
            member = {"ALARM": "AlarmActions", "OK": "OKActions"}.get(verdict.state, "InsufficientDataActions")
            await self._run(alarm, alarm[member])

    async def _run(self, alarm: dict[str, Any], actions: list[str]) -> None:
        for arn in actions:
            handler = next((h for prefix, h in self.actions.items() if arn.startswith(prefix)), None)
            if handler is None:
                continue
            try:
                await handler(arn, alarm)
            except Exception:
                log.exception("alarm %s: action %s failed", alarm["AlarmName"], arn)

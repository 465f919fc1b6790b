"""Scalable targets and the scaling they do, for real.

Every change of capacity is a scaling activity: it starts `InProgress` when the
resource accepts the new capacity and becomes `Successful` once the resource has
settled on it (the endpoint is InService again), or `Failed` with the reason.
Policies act through CloudWatch alarms, as on AWS: a target tracking policy
creates its AlarmHigh/AlarmLow pair, a step scaling policy is named in an
alarm's `AlarmActions`. Capacities stay within the target's bounds; cooldowns
(scaled by `SMSTATE_LOCAL_TIME_SCALE`) hold back a scale-out after a scale-out,
and a scale-in after any scaling.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from providers.local.autoscaling import policies
from providers.local.autoscaling.resources import Scalable
from providers.local.autoscaling.state import Key, Targets
from providers.local.cloudwatch.alarms import Alarms
from providers.local.errors import ApiError
from providers.local.settings import time_scale

log = logging.getLogger("smstate.local")

DEFAULT_COOLDOWN = 300.0


class Scaler:
    """Turns alarm actions, registrations and schedules into scaling activities."""

    def __init__(self, targets: Targets, alarms: Alarms) -> None:
        self.targets = targets
        self.alarms = alarms
        self.last_out: dict[Key, float] = {}
        self.last_in: dict[Key, float] = {}
        self.policy_last: dict[str, float] = {}
        self.goals: dict[str, int] = {}
        alarms.actions["arn:aws:autoscaling:"] = self.on_alarm

    # -- policies --------------------------------------------------------------

    def attach_alarms(self, policy: dict[str, Any], key: Key) -> None:
        """Create a target tracking policy's AlarmHigh/AlarmLow."""
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        target = float(config["TargetValue"])
        metric = policies.tracking_metric(config, key[2], self.targets.resource(key).dimensions(key[1]))
        arn = policy["PolicyARN"]
        base = {**metric, "AlarmActions": [arn], "TreatMissingData": "missing",
                "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}."}  # fmt: skip
        made = []
        sides = [("AlarmHigh", 3, target, "GreaterThanThreshold")]
        if not config.get("DisableScaleIn"):
            sides.append(("AlarmLow", 15, target * 0.9, "LessThanThreshold"))
        for side, periods, threshold, operator in sides:
            name = f"TargetTracking-{key[1]}-{side}-{uuid.uuid4()}"
            self.alarms.put({**base, "AlarmName": name, "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
                             "Threshold": threshold, "ComparisonOperator": operator}, self.targets.region)  # fmt: skip
            made.append({"AlarmName": name, "AlarmARN": self.alarms.alarms[name]["AlarmArn"]})
        policy["Alarms"] = made

    def detach_alarms(self, policy: dict[str, Any]) -> None:
        if policy.get("PolicyType") == "TargetTrackingScaling":
            names = [a["AlarmName"] for a in policy.get("Alarms") or [] if a["AlarmName"] in self.alarms.alarms]
            if names:
                self.alarms.delete(names)

    async def on_alarm(self, arn: str, alarm: dict[str, Any]) -> None:
        """An alarm in ALARM invoked the policy `arn`."""
        found = self.targets.policy_by_arn(arn)
        if found is None:
            return
        key, policy = found
        value = _latest(alarm)
        resource = self.targets.resource(key)
        current = resource.capacity(key[1])
        if value is None or current is None or self.targets.busy(key) or not resource.settled(key[1])[0]:
            return  # nothing to measure, or the resource is changing (an update): scaling waits
        wanted = self._wanted(arn, policy, alarm, current, value)
        if wanted is None:
            return
        target = self.targets.targets[key]
        desired = max(int(target["MinCapacity"]), min(int(target["MaxCapacity"]), wanted))
        if desired == current or not self._cooled(key, policy, desired > current):
            return
        cause = f"monitor alarm {alarm['AlarmName']} in state ALARM triggered policy {policy['PolicyName']}"
        if self.scale(key, desired, cause):
            self.policy_last[arn] = time.time()

    def _wanted(
        self, arn: str, policy: dict[str, Any], alarm: dict[str, Any], current: int, value: float
    ) -> int | None:
        """The capacity the policy asks for, before the target's bounds; None: nothing to do."""
        if policy["PolicyType"] == "TargetTrackingScaling":
            config = policy["TargetTrackingScalingPolicyConfiguration"]
            desired = policies.tracking_capacity(current, value, float(config["TargetValue"]))
            high = alarm["ComparisonOperator"].startswith("Greater")
            return max(desired, current) if high else min(desired, current)
        config = policy["StepScalingPolicyConfiguration"]
        if time.time() < self.policy_last.get(arn, 0.0) + _scaled(config.get("Cooldown")):
            return None
        return policies.step_capacity(config, current, value, float(alarm["Threshold"]))

    def _cooled(self, key: Key, policy: dict[str, Any], out: bool) -> bool:
        config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        out_wait = _scaled(config.get("ScaleOutCooldown"))
        in_wait = _scaled(config.get("ScaleInCooldown"))
        now = time.time()
        if out:
            return now >= self.last_out.get(key, 0.0) + out_wait
        return now >= self.last_in.get(key, 0.0) + in_wait and now >= self.last_out.get(key, 0.0) + out_wait

    # -- capacity ----------------------------------------------------------------

    def bound(self, key: Key, cause: str) -> None:
        """Bring the resource's capacity inside the target's bounds, if it is outside."""
        target = self.targets.targets[key]
        current = self.targets.resource(key).capacity(key[1])
        if current is None:
            return
        low, high = int(target["MinCapacity"]), int(target["MaxCapacity"])
        if current < low:
            self.scale(key, low, cause or f"minimum capacity was set to {low}")
        elif current > high:
            self.scale(key, high, cause or f"maximum capacity was set to {high}")

    def scale(self, key: Key, count: int, cause: str) -> bool:
        """Start moving the target's resource to `count`, recorded as an activity."""
        resource: Scalable = self.targets.resource(key)
        current = resource.capacity(key[1]) or 0
        activity = self.targets.activity(key, f"Setting desired {resource.unit} to {count}.", cause)
        try:
            resource.set_capacity(key[1], count)
        except ApiError as error:
            self.targets.finish(activity, "Failed", error.message)
            return False
        self.goals[activity["ActivityId"]] = count
        (self.last_out if count > current else self.last_in)[key] = time.time()
        log.info("scaling %s to %d: %s", key[1], count, cause)
        return True

    def settle(self) -> None:
        """Finish the activities whose resources have settled."""
        for activity in self.targets.in_progress():
            key = (activity["ServiceNamespace"], activity["ResourceId"], activity["ScalableDimension"])
            resource = self.targets.resources.get(key[2])
            done, failure = resource.settled(key[1]) if resource else (True, "The scalable dimension is gone.")
            if not done:
                continue
            unit = resource.unit if resource else "capacity"
            goal = self.goals.pop(activity["ActivityId"], None)
            if failure:
                self.targets.finish(activity, "Failed", f"Failed to set desired {unit} to {goal}: {failure}")
            else:
                message = f"Successfully set desired {unit} to {goal}. Change successfully fulfilled by sagemaker."
                self.targets.finish(activity, "Successful", message)


def _scaled(seconds: float | None) -> float:
    return (DEFAULT_COOLDOWN if seconds is None else float(seconds)) * time_scale()


def _latest(alarm: dict[str, Any]) -> float | None:
    """The newest data point the alarm evaluated."""
    try:
        points = json.loads(alarm.get("StateReasonData") or "{}").get("recentDatapoints") or []
    except ValueError:
        return None
    return float(points[-1]) if points else None


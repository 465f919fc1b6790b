"""The Application Auto Scaling operations the local server implements."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from providers.local.autoscaling import scheduled
from providers.local.autoscaling.scaler import Scaler
from providers.local.autoscaling.state import Key, Targets, describe_key, not_found
from providers.local.errors import ApiError, validation
from providers.local.services import Handler, Params, Service

log = logging.getLogger("smstate.local")

#: How often (wall-clock seconds) activities and schedules are looked at.
TICK = 0.05


class AutoScaling:
    """The handlers, over one set of targets and its scaler."""

    def __init__(self, targets: Targets, scaler: Scaler) -> None:
        self.targets = targets
        self.scaler = scaler
        self.due: dict[tuple[Key, str], float] = {}

    def service(self) -> Service:
        operations: dict[str, Handler] = {
            "RegisterScalableTarget": self.register,
            "DescribeScalableTargets": self.describe_targets,
            "DeregisterScalableTarget": self.deregister,
            "PutScalingPolicy": self.put_policy,
            "DescribeScalingPolicies": self.describe_policies,
            "DeleteScalingPolicy": self.delete_policy,
            "DescribeScalingActivities": self.describe_activities,
            "PutScheduledAction": self.put_scheduled,
            "DescribeScheduledActions": self.describe_scheduled,
            "DeleteScheduledAction": self.delete_scheduled,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags,
        }
        return Service("application-autoscaling", operations)

    async def run(self) -> None:
        """Finish settled activities and run due scheduled actions, until cancelled."""
        while True:
            try:
                self.scaler.settle()
                scheduled.run_due(self.targets, self.scaler, self.due, time.time())
            except Exception:  # the loop must outlive one bad record
                log.exception("application auto scaling: a background step failed")
            await asyncio.sleep(TICK)

    async def register(self, params: Params) -> dict[str, Any]:
        key = self.targets.key(params)
        target = self.targets.register(key, params)
        self.scaler.bound(key, "")
        return {"ScalableTargetARN": target["ScalableTargetARN"]}

    async def describe_targets(self, params: Params) -> dict[str, Any]:
        found = [t for k, t in self.targets.targets.items() if _matches(k, params, params.get("ResourceIds"))]
        return _page(params, found, "ScalableTargets")

    async def deregister(self, params: Params) -> dict[str, Any]:
        for policy in self.targets.deregister(self.targets.key(params)):
            self.scaler.detach_alarms(policy)
        return {}

    def deregister_resource(self, resource_prefix: str, exact: bool = False) -> None:
        """Deregister every target of a deleted object (as AWS does when it may); `exact`:
        only the targets whose resource id is `resource_prefix` itself."""
        for key in self.targets.keys_of(resource_prefix):
            if exact and key[1] != resource_prefix:
                continue
            for policy in self.targets.deregister(key):
                self.scaler.detach_alarms(policy)

    async def put_policy(self, params: Params) -> dict[str, Any]:
        key = self.targets.key(params)
        self.targets.target(key)
        policy_type = params.get("PolicyType") or "StepScaling"
        config_member = f"{policy_type}PolicyConfiguration"
        if policy_type not in ("TargetTrackingScaling", "StepScaling") or not params.get(config_member):
            raise validation(f"{config_member} must be specified for the policy type {policy_type}.")
        named = self.targets.policies.setdefault(key, {})
        name = params["PolicyName"]
        old = named.get(name)
        policy = {"PolicyName": name, "ServiceNamespace": key[0], "ResourceId": key[1], "ScalableDimension": key[2],
                  "PolicyType": policy_type, config_member: params[config_member], "Alarms": [],
                  "PolicyARN": old["PolicyARN"] if old else self.targets.policy_arn(key, name),
                  "CreationTime": old["CreationTime"] if old else time.time()}  # fmt: skip
        if policy_type == "TargetTrackingScaling":
            self.scaler.attach_alarms(policy, key)
        if old is not None:
            self.scaler.detach_alarms(old)
        named[name] = policy
        return {"PolicyARN": policy["PolicyARN"], "Alarms": policy["Alarms"]}

    async def describe_policies(self, params: Params) -> dict[str, Any]:
        return _named_page(params, self.targets.policies, ("PolicyNames", "PolicyName"), "ScalingPolicies")

    async def delete_policy(self, params: Params) -> dict[str, Any]:
        key = self.targets.key(params)
        policy = self.targets.policies.get(key, {}).pop(params["PolicyName"], None)
        if policy is None:
            raise not_found(f"No scaling policy found for {describe_key(key)}, policy name: {params['PolicyName']}")
        self.scaler.detach_alarms(policy)
        return {}

    async def describe_activities(self, params: Params) -> dict[str, Any]:
        found = [a for k, kept in self.targets.activities.items() if _matches(k, params) for a in kept]
        found.sort(key=lambda a: a["StartTime"], reverse=True)
        return _page(params, found, "ScalingActivities")

    async def put_scheduled(self, params: Params) -> dict[str, Any]:
        key = self.targets.key(params)
        self.targets.target(key)
        name = params["ScheduledActionName"]
        named = self.targets.scheduled.setdefault(key, {})
        old = named.get(name) or {}
        action = {**old, **{k: v for k, v in params.items() if k != "ScalableDimension" or v}}
        action.setdefault("ScheduledActionARN", self.targets.scheduled_arn(key, name))
        action.setdefault("CreationTime", time.time())
        if "Schedule" not in action:
            raise validation("Schedule must be specified for a new scheduled action.")
        self.due[(key, name)] = scheduled.first_run(action, time.time())
        named[name] = action
        return {}

    def restore_scheduled(self, key: Key, action: dict[str, Any], now: float) -> None:
        """A scheduled action saved by an earlier server; an `at` action already past stays done."""
        self.targets.scheduled.setdefault(key, {})[action["ScheduledActionName"]] = action
        when = scheduled.first_run(action, now)
        if when >= now:
            self.due[(key, action["ScheduledActionName"])] = when

    async def describe_scheduled(self, params: Params) -> dict[str, Any]:
        names = ("ScheduledActionNames", "ScheduledActionName")
        return _named_page(params, self.targets.scheduled, names, "ScheduledActions")

    async def delete_scheduled(self, params: Params) -> dict[str, Any]:
        key = self.targets.key(params)
        if self.targets.scheduled.get(key, {}).pop(params["ScheduledActionName"], None) is None:
            raise not_found(f"No scheduled action found for {describe_key(key)}, "
                            f"scheduled action name: {params['ScheduledActionName']}")  # fmt: skip
        self.due.pop((key, params["ScheduledActionName"]), None)
        return {}

    async def tag_resource(self, params: Params) -> dict[str, Any]:
        self._tags(params["ResourceARN"]).update(params["Tags"])
        return {}

    async def untag_resource(self, params: Params) -> dict[str, Any]:
        tags = self._tags(params["ResourceARN"])
        for key in params["TagKeys"]:
            tags.pop(key, None)
        return {}

    async def list_tags(self, params: Params) -> dict[str, Any]:
        return {"Tags": dict(self._tags(params["ResourceARN"]))}

    def _tags(self, arn: str) -> dict[str, str]:
        if not any(t["ScalableTargetARN"] == arn for t in self.targets.targets.values()):
            raise ApiError("ResourceNotFoundException", f"No scalable target found for ARN {arn}.")
        return self.targets.tags.setdefault(arn, {})


def _matches(key: Key, params: Params, resource_ids: list[str] | None = None) -> bool:
    if key[0] != params["ServiceNamespace"]:
        return False
    if params.get("ScalableDimension") and key[2] != params["ScalableDimension"]:
        return False
    if resource_ids is not None:
        return key[1] in resource_ids
    return not params.get("ResourceId") or key[1] == params["ResourceId"]


def _named_page(
    params: Params, stored: dict[Key, dict[str, dict[str, Any]]], names: tuple[str, str], member: str
) -> dict[str, Any]:
    """A page of the items of the targets the request selects; of those named, when it names some."""
    wanted = params.get(names[0])
    found = [item for key, named in stored.items() if _matches(key, params)
             for item in named.values() if not wanted or item[names[1]] in wanted]  # fmt: skip
    return _page(params, found, member)


def _page(params: Params, items: list[dict[str, Any]], member: str) -> dict[str, Any]:
    start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
    size = int(params.get("MaxResults") or 50)
    result: dict[str, Any] = {member: [dict(i) for i in items[start : start + size]]}
    if start + size < len(items):
        result["NextToken"] = str(start + size)
    return result


"""The records of Application Auto Scaling: scalable targets, their policies,
scheduled actions and scaling activities, as the Describe calls show them.
They live in memory with the server."""

from __future__ import annotations

import time
import uuid
from typing import Any

from providers.local.autoscaling.resources import Scalable
from providers.local.errors import ApiError, validation
from providers.local.services import current_region
from providers.local.settings import ACCOUNT_ID

#: (ServiceNamespace, ResourceId, ScalableDimension)
Key = tuple[str, str, str]

#: Activities kept per target (the oldest go first).
ACTIVITY_LIMIT = 500


def not_found(message: str) -> ApiError:
    return ApiError("ObjectNotFoundException", message)


def describe_key(key: Key) -> str:
    return f"service namespace: {key[0]}, resource ID: {key[1]}, scalable dimension: {key[2]}"


class Targets:
    """Targets, policies, scheduled actions and activities, by target key."""

    def __init__(self, resources: dict[str, Scalable]) -> None:
        self.resources = resources
        self.targets: dict[Key, dict[str, Any]] = {}
        self.policies: dict[Key, dict[str, dict[str, Any]]] = {}
        self.scheduled: dict[Key, dict[str, dict[str, Any]]] = {}
        self.activities: dict[Key, list[dict[str, Any]]] = {}
        self.tags: dict[str, dict[str, str]] = {}

    @property
    def region(self) -> str:
        """The region of the request being answered (new ARNs name it)."""
        return current_region.get()

    def key(self, params: dict[str, Any]) -> Key:
        namespace, dimension = params["ServiceNamespace"], params["ScalableDimension"]
        if namespace != "sagemaker" or dimension not in self.resources:
            raise validation(
                f"Unsupported service namespace, resource type or scalable dimension: {namespace}, {dimension}."
            )
        return namespace, params["ResourceId"], dimension

    def resource(self, key: Key) -> Scalable:
        return self.resources[key[2]]

    def target(self, key: Key) -> dict[str, Any]:
        target = self.targets.get(key)
        if target is None:
            raise not_found(f"No scalable target registered for {describe_key(key)}")
        return target

    def register(self, key: Key, params: dict[str, Any]) -> dict[str, Any]:
        self.resource(key).check(key[1])
        target = self.targets.get(key)
        if target is None:
            if params.get("MinCapacity") is None or params.get("MaxCapacity") is None:
                raise validation(
                    "Minimum and maximum capacity must be specified when registering a new scalable target."
                )
            arn = f"arn:aws:application-autoscaling:{self.region}:{ACCOUNT_ID}:scalable-target/{uuid.uuid4().hex}"
            target = {"ServiceNamespace": key[0], "ResourceId": key[1], "ScalableDimension": key[2],
                      "RoleARN": params.get("RoleARN") or _role(), "CreationTime": time.time(),
                      "ScalableTargetARN": arn,
                      "SuspendedState": {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                         "ScheduledScalingSuspended": False}}  # fmt: skip
        low = int(params["MinCapacity"] if params.get("MinCapacity") is not None else target["MinCapacity"])
        high = int(params["MaxCapacity"] if params.get("MaxCapacity") is not None else target["MaxCapacity"])
        if low > high:
            raise validation("Minimum capacity cannot be greater than maximum capacity.")
        target.update(MinCapacity=low, MaxCapacity=high)
        if params.get("SuspendedState"):
            target["SuspendedState"].update(params["SuspendedState"])
        self.targets[key] = target
        if params.get("Tags"):
            self.tags[target["ScalableTargetARN"]] = dict(params["Tags"])
        return target

    def deregister(self, key: Key) -> list[dict[str, Any]]:
        """Remove the target with its policies and scheduled actions; the policies removed."""
        target = self.target(key)
        del self.targets[key]
        self.tags.pop(target["ScalableTargetARN"], None)
        self.scheduled.pop(key, None)
        return list(self.policies.pop(key, {}).values())

    def keys_of(self, resource_prefix: str) -> list[Key]:
        return [k for k in self.targets if k[1].startswith(resource_prefix)]

    def policy_by_arn(self, arn: str) -> tuple[Key, dict[str, Any]] | None:
        for key, named in self.policies.items():
            for policy in named.values():
                if policy["PolicyARN"] == arn:
                    return key, policy
        return None

    def policy_arn(self, key: Key, name: str) -> str:
        return (f"arn:aws:autoscaling:{self.region}:{ACCOUNT_ID}:scalingPolicy:{uuid.uuid4()}:"
                f"resource/{key[0]}/{key[1]}:policyName/{name}")  # fmt: skip

    def scheduled_arn(self, key: Key, name: str) -> str:
        return (f"arn:aws:autoscaling:{self.region}:{ACCOUNT_ID}:scheduledAction:{uuid.uuid4()}:"
                f"resource/{key[0]}/{key[1]}:scheduledActionName/{name}")  # fmt: skip

    def activity(self, key: Key, description: str, cause: str) -> dict[str, Any]:
        activity = {"ActivityId": str(uuid.uuid4()), "ServiceNamespace": key[0], "ResourceId": key[1],
                    "ScalableDimension": key[2], "Description": description, "Cause": cause,
                    "StartTime": time.time(), "StatusCode": "InProgress"}  # fmt: skip
        kept = self.activities.setdefault(key, [])
        kept.insert(0, activity)
        del kept[ACTIVITY_LIMIT:]
        return activity

    def finish(self, activity: dict[str, Any], status: str, message: str) -> None:
        activity.update(StatusCode=status, StatusMessage=message, EndTime=time.time())

    def in_progress(self) -> list[dict[str, Any]]:
        return [a for kept in self.activities.values() for a in kept if a["StatusCode"] == "InProgress"]

    def busy(self, key: Key) -> bool:
        return any(a["StatusCode"] == "InProgress" for a in self.activities.get(key, []))


def _role() -> str:
    return (f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")  # fmt: skip

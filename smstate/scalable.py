"""Application Auto Scaling targets in config form: one scalable target with its policies and scheduled actions.

The config names what is scaled (`target: {endpoint, variant}` or `{inference_component}`);
the API names it by namespace, resource id and scalable dimension. The config shape is built
from botocore's `application-autoscaling` model: RegisterScalableTarget's fields, plus maps of
PutScalingPolicy and PutScheduledAction fields keyed by policy and action name.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from botocore import xform_name
from botocore.model import ShapeResolver, StructureShape

from . import shapes
from .values import Unknown, has_unknown

SERVICE = "application-autoscaling"
NAMESPACE = "sagemaker"
ID_MEMBERS = ("ServiceNamespace", "ResourceId", "ScalableDimension")
VARIANT_COUNT = "sagemaker:variant:DesiredInstanceCount"
COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
DIMENSIONS = (VARIANT_COUNT, "sagemaker:variant:DesiredProvisionedConcurrency", COPY_COUNT)
TARGET_MEMBERS = ("Endpoint", "Variant", "InferenceComponent")
"""What a config target names: an endpoint's variant, or an inference component."""
ENDPOINT, VARIANT, COMPONENT = (xform_name(m) for m in TARGET_MEMBERS)


def _raw_shapes() -> dict[str, Any]:
    model = shapes.data_loader().load_service_model(SERVICE, "service-2")
    return copy.deepcopy(model["shapes"])


def _without(raw: dict[str, Any], shape: str, drop: set[str]) -> dict[str, Any]:
    """A copy of a request structure without the members that identify the target."""
    body = copy.deepcopy(raw[shape])
    body["members"] = {k: v for k, v in body["members"].items() if k not in drop}
    body["required"] = [m for m in body.get("required", []) if m not in drop]
    return body


@functools.cache
def form() -> StructureShape:
    """The config shape of a scaling target, as a botocore shape so validation and conversion stay generic."""
    raw = _raw_shapes()
    ids = set(ID_MEMBERS)
    raw["SmstateScalingPolicy"] = _without(raw, "PutScalingPolicyRequest", ids | {"PolicyName"})
    raw["SmstateScheduledAction"] = _without(raw, "PutScheduledActionRequest", ids | {"ScheduledActionName"})
    raw["SmstateScalingPolicies"] = {"type": "map", "key": {"shape": "PolicyName"}, "value": {"shape": "SmstateScalingPolicy"}}
    raw["SmstateScheduledActions"] = {
        "type": "map", "key": {"shape": "ScheduledActionName"}, "value": {"shape": "SmstateScheduledAction"},
    }
    raw["SmstateScalingTargetName"] = {"type": "string", "min": 1, "max": 63, "pattern": "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"}
    raw["SmstateScalingDimension"] = {"type": "string", "enum": list(DIMENSIONS)}
    raw["SmstateScalingTarget"] = {
        "type": "structure",
        "members": {
            **{m: {"shape": "SmstateScalingTargetName"} for m in TARGET_MEMBERS},
            "ScalableDimension": {"shape": "SmstateScalingDimension"},
        },
    }
    body = _without(raw, "RegisterScalableTargetRequest", ids | {"Tags"})
    body["members"].update(
        {
            "Target": {"shape": "SmstateScalingTarget"},
            "Policies": {"shape": "SmstateScalingPolicies"},
            "ScheduledActions": {"shape": "SmstateScheduledActions"},
        }
    )
    body["required"] = ["Target", "MinCapacity", "MaxCapacity"]
    raw["SmstateScalingConfig"] = body
    shape = ShapeResolver(raw).get_shape_by_name("SmstateScalingConfig")
    assert isinstance(shape, StructureShape)
    return shape


def target_problems(spec: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What the generic shape cannot say: which target members go together."""
    target = spec.get("target")
    if not isinstance(target, dict):
        return []
    keys = set(target) - {"scalable_dimension"}
    dimension = target.get("scalable_dimension")
    if COMPONENT in keys:
        if keys != {COMPONENT}:
            return [(("target",), "inference_component is given alone (with no endpoint or variant)")]
        if dimension not in (None, COPY_COUNT):
            return [(("target", "scalable_dimension"), f"an inference component scales by {COPY_COUNT}")]
        return []
    if keys != {ENDPOINT, VARIANT}:
        return [(("target",), "name either endpoint and variant, or inference_component")]
    if dimension == COPY_COUNT:
        return [(("target", "scalable_dimension"), f"{COPY_COUNT} is for an inference_component target")]
    return []


def ids_of(target: dict[str, Any]) -> tuple[str, str, str]:
    """(ServiceNamespace, ResourceId, ScalableDimension) of a config target."""
    if COMPONENT in target:
        return NAMESPACE, f"inference-component/{target[COMPONENT]}", COPY_COUNT
    dimension = target.get("scalable_dimension") or VARIANT_COUNT
    return NAMESPACE, f"endpoint/{target[ENDPOINT]}/variant/{target[VARIANT]}", dimension


def object_id(spec: dict[str, Any]) -> str | Unknown:
    """The id smstate records: `<ResourceId>|<ScalableDimension>` (the namespace leads the dimension)."""
    target = spec.get("target") or {}
    if has_unknown(target):
        return Unknown("scaling target id")
    _, resource, dimension = ids_of(target)
    return f"{resource}|{dimension}"


def id_request(object_id: str) -> dict[str, str]:
    """The request members that name the target of a recorded id."""
    resource, _, dimension = object_id.partition("|")
    return {"ServiceNamespace": dimension.split(":", 1)[0], "ResourceId": resource, "ScalableDimension": dimension}


def describe_request(object_id: str) -> dict[str, Any]:
    ids = id_request(object_id)
    return {"ServiceNamespace": ids["ServiceNamespace"], "ResourceIds": [ids["ResourceId"]],
            "ScalableDimension": ids["ScalableDimension"]}


def row_id(row: dict[str, Any]) -> str:
    """The recorded id of a DescribeScalableTargets row."""
    return f"{row['ResourceId']}|{row['ScalableDimension']}"


def target_of(resource_id: str, dimension: str) -> dict[str, Any]:
    """The config target of a resource id (the dimension only when it is not the default)."""
    parts = resource_id.split("/")
    if len(parts) == 2:
        return {COMPONENT: parts[1]}
    out: dict[str, Any] = {ENDPOINT: parts[1], VARIANT: parts[3] if len(parts) > 3 else ""}
    if dimension != VARIANT_COUNT:
        out["scalable_dimension"] = dimension
    return out


def view(description: dict[str, Any]) -> dict[str, Any]:
    """A live target (with its `Policies` and `ScheduledActions` maps) in config form."""
    out: dict[str, Any] = shapes.from_response(form(), description) or {}
    if "ResourceId" in description:
        out["target"] = target_of(str(description["ResourceId"]), str(description.get("ScalableDimension", "")))
    return out

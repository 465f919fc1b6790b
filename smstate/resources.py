"""The resource kinds smstate manages: each kind is one declaration of its traits.

Everything that makes a kind different lives here, as data the rest of the code reads:
the service and operations that reach it, how an object is identified, what changes in
place and through which call, how its tags are read, what must not be deleted while it
lives, and how it is waited for. No other module tests a kind's name. The `Kind` type is
in `smstate/kind.py`, the traits it is built from in `smstate/traits.py`.

Models and endpoint configs are immutable in SageMaker, so their physical name is derived
from the content of their create request: any change is a new name, created before the old
one is destroyed. Endpoints and model package groups are named by their logical name.
Model packages are versions inside a group and are known by ARN. Inference components keep
their logical name and roll a new specification in place.
"""

from __future__ import annotations

from typing import Any

from . import scalable
from .kind import Identity, Kind, Tagging
from .traits import Attachment, Copies, DataLookup, Listing, Part, Reference, SideUpdate, Statuses, TagApi
from .views import component_view, endpoint_view

__all__ = [
    "BY_STATE_TYPE", "ENVELOPE_KEYS", "KINDS", "OWNER_ADDRESS_TAG", "OWNER_LINEAGE_TAG", "REFERENCE_ATTRS",
    "Identity", "Kind", "Listing", "Tagging", "rollout_kind",
]


ENVELOPE_KEYS = frozenset({"name", "tags", "lifecycle", "depends_on"})


def _alarm_names(name: str) -> dict[str, Any]:
    """DescribeAlarms and DeleteAlarms take a list of names."""
    return {"AlarmNames": [name]}


KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind(
            "models",
            "model",
            "CreateModel",
            "DescribeModel",
            "DeleteModel",
            "ModelName",
            identity=Identity.HASHED,
            arn_member="ModelArn",
            listing=Listing("ListModels", "Models", "ModelName", "ModelArn"),
            immutable=True,
            guard_in_use=True,
        ),
        Kind(
            "endpoint_configs",
            "endpoint_config",
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "DeleteEndpointConfig",
            "EndpointConfigName",
            identity=Identity.HASHED,
            arn_member="EndpointConfigArn",
            listing=Listing("ListEndpointConfigs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
            immutable=True,
            guard_in_use=True,
            references=(Reference(("production_variants", "model_name"), "models"),),
        ),
        Kind(
            "endpoints",
            "endpoint",
            "CreateEndpoint",
            "DescribeEndpoint",
            "DeleteEndpoint",
            "EndpointName",
            identity=Identity.LOGICAL,
            arn_member="EndpointArn",
            listing=Listing(
                "ListEndpoints", "Endpoints", "EndpointName", "EndpointArn", modified_member="LastModifiedTime"
            ),
            also=("UpdateEndpoint",),
            update="UpdateEndpoint",
            update_member="EndpointName",
            spec_in_place=True,
            mutable=frozenset({"endpoint_config_name"}),
            settings=frozenset(
                {
                    "deployment_config",
                    "retain_all_variant_properties",
                    "exclude_retained_variant_properties",
                    "retain_deployment_config",
                }
            ),
            references=(Reference(("endpoint_config_name",), "endpoint_configs"),),
            holds_in_use=True,
            rollouts=True,
            waited=True,
            statuses=Statuses(
                "EndpointStatus",
                in_progress=frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}),
                done=frozenset({"InService"}),
                failed=frozenset({"Failed", "UpdateRollbackFailed", "OutOfService"}),
                deleting="Deleting",
            ),
            view=endpoint_view,
        ),
        Kind(
            "model_package_groups",
            "model_package_group",
            "CreateModelPackageGroup",
            "DescribeModelPackageGroup",
            "DeleteModelPackageGroup",
            "ModelPackageGroupName",
            identity=Identity.LOGICAL,
            arn_member="ModelPackageGroupArn",
            listing=Listing(
                "ListModelPackageGroups", "ModelPackageGroupSummaryList", "ModelPackageGroupName", "ModelPackageGroupArn"
            ),
        ),
        Kind(
            "model_packages",
            "model_package",
            "CreateModelPackage",
            "DescribeModelPackage",
            "DeleteModelPackage",
            None,
            identity=Identity.VERSION,
            id_member="ModelPackageName",
            arn_member="ModelPackageArn",
            version_member="ModelPackageVersion",
            listing=Listing(
                "ListModelPackages",
                "ModelPackageSummaryList",
                "ModelPackageArn",
                "ModelPackageArn",
                within="model_package_groups",
                within_member="ModelPackageGroupName",
            ),
            update="UpdateModelPackage",
            update_member="ModelPackageArn",
            mutable=frozenset({"model_approval_status", "customer_metadata_properties"}),
            excluded=frozenset({"ModelPackageName", "ClientToken"}),
            token_member="ClientToken",
            tags=Tagging.UNREADABLE,
            lookup=DataLookup(
                "ListModelPackages",
                "ModelPackageSummaryList",
                "ModelPackageArn",
                fixed=(("ModelPackageType", "Versioned"), ("SortBy", "CreationTime"), ("SortOrder", "Descending")),
                required=("model_package_group_name",),
            ),
            references=(Reference(("model_package_group_name",), "model_package_groups"),),
            statuses=Statuses(
                "ModelPackageStatus",
                in_progress=frozenset({"Pending", "InProgress", "Deleting"}),
                done=frozenset({"Completed"}),
                failed=frozenset({"Failed"}),
                deleting="Deleting",
            ),
        ),
        Kind(
            "inference_components",
            "inference_component",
            "CreateInferenceComponent",
            "DescribeInferenceComponent",
            "DeleteInferenceComponent",
            "InferenceComponentName",
            identity=Identity.LOGICAL,
            arn_member="InferenceComponentArn",
            listing=Listing(
                "ListInferenceComponents", "InferenceComponents", "InferenceComponentName", "InferenceComponentArn"
            ),
            also=("UpdateInferenceComponent",),
            update="UpdateInferenceComponent",
            update_member="InferenceComponentName",
            mutable=frozenset({"specification", "runtime_config"}),
            settings=frozenset({"deployment_config"}),
            references=(
                Reference(("endpoint_name",), "endpoints"),
                Reference(("specification", "model_name"), "models"),
            ),
            holds_in_use=True,
            waited=True,
            statuses=Statuses(
                "InferenceComponentStatus",
                in_progress=frozenset({"Creating", "Updating", "Deleting"}),
                done=frozenset({"InService"}),
                failed=frozenset({"Failed"}),
                deleting="Deleting",
            ),
            view=component_view,
            rolls_in_place=True,
            side_updates=(
                SideUpdate("UpdateInferenceComponentRuntimeConfig", {"runtime_config": "DesiredRuntimeConfig"}),
            ),
            copies=Copies("EndpointName", "RuntimeConfig", "DesiredCopyCount", "CurrentCopyCount", "LastDeploymentConfig"),
        ),
        Kind(
            "alarms",
            "alarm",
            "PutMetricAlarm",
            "DescribeAlarms",
            "DeleteAlarms",
            "AlarmName",
            identity=Identity.LOGICAL,
            arn_member="AlarmArn",
            listing=Listing("DescribeAlarms", "MetricAlarms", "AlarmName", "AlarmArn", prefix_member="AlarmNamePrefix"),
            service="cloudwatch",
            describe_request=_alarm_names,
            delete_request=_alarm_names,
            found_at="MetricAlarms",
            tag_api=TagApi("ListTagsForResource", "ResourceARN", "TagResource", "UntagResource"),
            update="PutMetricAlarm",
            update_member="AlarmName",
            spec_in_place=True,
            overwrites=True,
            names_only=True,
            watch=lambda d: {"state": d.get("StateValue"), "reason": d.get("StateReason")},
        ),
        Kind(
            "scaling",
            "scaling_target",
            "RegisterScalableTarget",
            "DescribeScalableTargets",
            "DeregisterScalableTarget",
            None,
            identity=Identity.COMPOSITE,
            arn_member="ScalableTargetARN",
            listing=Listing(
                "DescribeScalableTargets", "ScalableTargets", "ResourceId", "ScalableTargetARN", prefix_member=None,
                page_size=50, fixed=(("ServiceNamespace", scalable.NAMESPACE),), row_id=scalable.row_id,
            ),
            service=scalable.SERVICE,
            describe_request=scalable.describe_request,
            delete_request=scalable.id_request,
            found_at="ScalableTargets",
            tags=Tagging.NONE,
            update="RegisterScalableTarget",
            spec_in_place=True,
            overwrites=True,
            form=scalable.form,
            composite_id=scalable.object_id,
            id_request=scalable.id_request,
            parts=(
                Part("Policies", "PutScalingPolicy", "DescribeScalingPolicies", "ScalingPolicies", "PolicyName",
                     "DeleteScalingPolicy"),
                Part("ScheduledActions", "PutScheduledAction", "DescribeScheduledActions", "ScheduledActions",
                     "ScheduledActionName", "DeleteScheduledAction"),
            ),
            references=(
                Reference(("target", "endpoint"), "endpoints"),
                Reference(("target", "inference_component"), "inference_components"),
            ),
            attachment=Attachment(
                "endpoints", ("target", "endpoint"), ("target", "variant"), "endpoint_config_name",
                "production_variants", "variant_name", frozenset({"instance_type"}), "retain_all_variant_properties",
            ),
            check=scalable.target_problems,
            view=scalable.view,
            watch=lambda d: {"min_capacity": d.get("MinCapacity"), "max_capacity": d.get("MaxCapacity")},
            activity=("DescribeScalingActivities", "ScalingActivities"),
        ),
    )
}

BY_STATE_TYPE = {k.state_type: k for k in KINDS.values()}
OWNER_ADDRESS_TAG = "smstate:address"
OWNER_LINEAGE_TAG = "smstate:lineage"
REFERENCE_ATTRS = ("name", "arn", "version")


def rollout_kind() -> Kind:
    """The kind whose objects roll out deployments in stages (what `smstate rollout status` reads)."""
    return next(k for k in KINDS.values() if k.rollouts)

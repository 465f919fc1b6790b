"""The resource kinds smstate manages: each kind is one declaration of its traits.

Everything that makes a kind different lives here, as data the rest of the code reads:
the service and operations that reach it, how an object is identified, what changes in
place and through which call, how its tags are read, what must not be deleted while it
lives, and how it is waited for. No other module tests a kind's name.

Models and endpoint configs are immutable in SageMaker, so their physical name is derived
from the content of their create request: any change is a new name, created before the old
one is destroyed. Endpoints and model package groups are named by their logical name.
Model packages are versions inside a group and are known by ARN. Inference components keep
their logical name and roll a new specification in place.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import Shape, StructureShape

from . import scalable, shapes
from .traits import Attachment, Copies, DataLookup, Listing, Part, Reference, SideUpdate, Statuses, TagApi
from .views import component_view


class Identity(enum.Enum):
    """How an object of a kind is known."""

    HASHED = "hashed"
    """Its name is derived from its content: a changed spec is a new object under a new name."""
    LOGICAL = "logical"
    """Its name is the logical name (or the one pinned in config): it keeps it for life."""
    VERSION = "version"
    """It has no name: the API gives it an ARN ending in a version number inside a group."""
    COMPOSITE = "composite"
    """Its id is made of several request members named by its spec (a scalable target's resource and dimension)."""


class Tagging(enum.Enum):
    """How an object's tags are read back."""

    LIST_TAGS = "list_tags"
    """ListTags on its ARN."""
    UNREADABLE = "unreadable"
    """The API cannot list them: state's record of the tags set is all there is."""
    NONE = "none"
    """It carries no tags: it belongs to this state through the object it hangs off (a scalable target's endpoint)."""


@dataclass(frozen=True)
class Kind:
    """A resource kind: its API operations, its identity and the rules for changing it."""

    type: str
    """The config and address type (`models`)."""
    state_type: str
    """The type recorded in state (`model`)."""
    create: str
    describe: str
    delete: str
    name_member: str | None
    """The request member that takes the object's name; None when the object has no name."""
    identity: Identity
    arn_member: str
    """Where the create response and the description give the ARN."""
    listing: Listing
    service: str = "sagemaker"
    """The boto3 service every operation of the kind belongs to."""
    id_member: str | None = None
    """The describe/delete request member that takes the object's id (its name, or its ARN); defaults to `name_member`."""
    version_member: str | None = None
    also: tuple[str, ...] = ()
    """Other operations whose request fields the config accepts (an update's deployment settings)."""
    update: str | None = None
    """The operation that changes an object in place; None when nothing changes in place."""
    update_member: str | None = None
    spec_in_place: bool = False
    """Every spec change goes through `update`: the object is never replaced for a changed spec."""
    mutable: frozenset[str] = field(default_factory=frozenset)
    """Top-level fields SageMaker can change on a live object (compared with the live read)."""
    settings: frozenset[str] = field(default_factory=frozenset)
    """Request-only fields that SageMaker does not report back: kept in state, changed in place."""
    excluded: frozenset[str] = field(default_factory=frozenset)
    token_member: str | None = None
    """The create request member for an idempotency token, so a retried create makes one object."""
    tags: Tagging = Tagging.LIST_TAGS
    immutable: bool = False
    """A live object never changes but for its tags: a List row with its recorded creation time proves it unchanged."""
    references: tuple[Reference, ...] = ()
    guard_in_use: bool = False
    """Replacing it delete-first is refused while another object in state still references it."""
    holds_in_use: bool = False
    """While it lives, the objects it references (and theirs) are in use and never deleted."""
    rollouts: bool = False
    """It deploys in stages that can roll back (what `smstate rollout status` reports)."""
    statuses: Statuses | None = None
    """What its status member says: in progress, done or failed; None when it reports no status."""
    waited: bool = False
    """Apply waits for it to settle after a create or update and to be gone after a delete."""
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Its live description in config form, when that is not the create request's shape."""
    rolls_in_place: bool = False
    """Its own update rolls out in SageMaker: apply follows it to the end and believes only the description."""
    side_updates: tuple[SideUpdate, ...] = ()
    """Lighter calls that change some mutable fields alone; used when only those fields changed."""
    copies: Copies | None = None
    """It is hosted as copies on an endpoint (what `smstate rollout status` lists with the endpoint)."""
    describe_request: Callable[[str], dict[str, Any]] | None = None
    """The describe request for an id, when it is not `{object_member: id}` (DescribeAlarms takes a list)."""
    delete_request: Callable[[str], dict[str, Any]] | None = None
    """The delete request for an id, when it is not `{object_member: id}`."""
    found_at: str | None = None
    """The list member of the describe answer whose first item is the object; None when the answer is the object."""
    tag_api: TagApi = TagApi()
    overwrites: bool = False
    """Its create call overwrites an object of the same id (PutMetricAlarm, RegisterScalableTarget): every field
    changes in place through it, and an object of its id that this state may take is put again."""
    form: Callable[[], StructureShape] | None = None
    """The config's shape, when it is not the create request's (a scalable target with its policies)."""
    composite_id: Callable[[dict[str, Any]], Any] | None = None
    """The id of the object a spec declares, for a kind identified by several members."""
    id_request: Callable[[str], dict[str, Any]] | None = None
    """The request members that name a recorded id, sent with every put of the object and its parts."""
    parts: tuple[Part, ...] = ()
    check: Callable[[dict[str, Any]], list[tuple[tuple[str | int, ...], str]]] | None = None
    """What a spec gets wrong that its shape cannot say."""
    attachment: Attachment | None = None
    """The part of another kind's object it attaches to, which that object's updates must respect."""
    watch: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """What `rollout status` and `drift` show of its live state (an alarm's state, a target's bounds)."""
    activity: tuple[str, str] | None = None
    """The operation that lists its recent activities, newest first, and the answer's list member."""
    names_only: bool = False
    """Its `${X.name}` references to logically named objects are only names, known at plan time: the objects
    need not exist first (an alarm on an endpoint's metrics, named in that endpoint's rollback), so they
    order nothing and make no cycle."""
    lookup: DataLookup | None = None
    """How a data source of this kind finds its object; None: by `name` (its describe request's id)."""

    @property
    def hashed(self) -> bool:
        return self.identity is Identity.HASHED

    @property
    def listed_unchanged(self) -> bool:
        """A List row can prove an object of this kind unchanged (see `immutable`, `Listing.modified_member`)."""
        return self.immutable or self.listing.modified_member is not None

    @property
    def tags_readable(self) -> bool:
        return self.tags is Tagging.LIST_TAGS

    @property
    def object_member(self) -> str:
        """The request member DescribeX and DeleteX identify an object by."""
        member = self.id_member or self.name_member
        assert member is not None, f"{self.type} declares neither id_member nor name_member"
        return member

    @property
    def changeable(self) -> frozenset[str]:
        """Fields compared with the live object and changed in place: all of them for a kind whose create overwrites."""
        return frozenset(self.fields()) if self.overwrites else self.mutable

    @property
    def create_shape(self) -> StructureShape:
        return self.form() if self.form is not None else shapes.input_shape(self.create, self.service)

    def _shape(self, op: str) -> StructureShape:
        return self.create_shape if op == self.create else shapes.input_shape(op, self.service)

    @functools.cached_property
    def _fields(self) -> dict[str, Shape]:
        out: dict[str, Shape] = {}
        for op in (self.create, *self.also):
            shape = self._shape(op)
            for member, member_shape in shape.members.items():
                snake = xform_name(member)
                if member in self.excluded or member == "Tags" or member == self.name_member:
                    continue
                out.setdefault(snake, member_shape)
        return out

    def fields(self) -> dict[str, Shape]:
        """Every snake_case field the config accepts for this kind."""
        return self._fields

    def required(self) -> list[str]:
        skip = {self.name_member, "Tags", *self.excluded}
        return [xform_name(m) for m in self.create_shape.required_members if m not in skip]

    def request_fields(self, op: str) -> set[str]:
        return {xform_name(m) for m in self._shape(op).members}

    def uses(self, spec: dict[str, Any]) -> list[tuple[str, Any]]:
        """(target type, physical name) of every object this spec references."""
        return [(ref.target, value) for ref in self.references for value in ref.values(spec)]


ENVELOPE_KEYS = frozenset({"name", "tags", "lifecycle", "depends_on"})
_VARIANT_FIELDS = ("VariantName", "CurrentWeight", "DesiredWeight", "CurrentInstanceCount", "DesiredInstanceCount")


def _endpoint_view(description: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as drift compares it: the config it serves from and each variant's traffic and size."""
    out: dict[str, Any] = {"endpoint_config_name": description.get("EndpointConfigName")}
    listed = description.get("ProductionVariants")
    variants = [
        {xform_name(f): v[f] for f in _VARIANT_FIELDS if f in v}
        for v in (listed if isinstance(listed, list) else [])
        if isinstance(v, dict)
    ]
    if variants:
        out["production_variants"] = sorted(variants, key=lambda v: str(v.get("variant_name")))
    return out


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
            view=_endpoint_view,
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

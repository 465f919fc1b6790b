"""The resource kinds smstate manages: each kind is one declaration of its traits.

Everything that makes a kind different lives here, as data the rest of the code reads:
the service and operations that reach it, how an object is identified, what changes in
place and through which call, how its tags are read, what must not be deleted while it
lives, and how it is waited for. No other module tests a kind's name.

Models and endpoint configs are immutable in SageMaker, so their physical name is derived
from the content of their create request: any change is a new name, created before the old
one is destroyed. Endpoints and model package groups are named by their logical name.
Model packages are versions inside a group and are known by ARN.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import Shape, StructureShape

from . import shapes


class Identity(enum.Enum):
    """How an object of a kind is known."""

    HASHED = "hashed"
    """Its name is derived from its content: a changed spec is a new object under a new name."""
    LOGICAL = "logical"
    """Its name is the logical name (or the one pinned in config): it keeps it for life."""
    VERSION = "version"
    """It has no name: the API gives it an ARN ending in a version number inside a group."""


class Tagging(enum.Enum):
    """How an object's tags are read back."""

    LIST_TAGS = "list_tags"
    """ListTags on its ARN."""
    UNREADABLE = "unreadable"
    """The API cannot list them: state's record of the tags set is all there is."""


@dataclass(frozen=True)
class Listing:
    """The List operation that enumerates a kind: the page key, and the id and ARN members of a row."""

    operation: str
    key: str
    id_member: str
    arn_member: str
    within: str | None = None
    """The (config) type of the parent kind when objects are listed per parent, such as versions per group."""
    within_member: str | None = None
    """The List request member that names the parent."""


@dataclass(frozen=True)
class Reference:
    """A field of the spec that names an object of another kind: the object is in use while referenced.

    `path` walks the spec from a top-level field; a list on the way is walked item by item.
    """

    path: tuple[str, ...]
    target: str
    """The config type of the referenced kind."""

    def values(self, spec: dict[str, Any]) -> list[Any]:
        found: list[Any] = [spec]
        for step in self.path:
            items = [x for v in found for x in (v if isinstance(v, list) else [v])]
            found = [item[step] for item in items if isinstance(item, dict) and item.get(step) is not None]
        return found

    def rewrite(self, spec: dict[str, Any], fn: Callable[[Any], Any]) -> None:
        """Replace every value at `path` with `fn(value)`, in place."""
        parents: list[Any] = [spec]
        for step in self.path[:-1]:
            items = [p.get(step) for p in parents if isinstance(p, dict)]
            parents = [x for v in items for x in (v if isinstance(v, list) else [v])]
        last = self.path[-1]
        for parent in parents:
            if isinstance(parent, dict) and last in parent:
                parent[last] = fn(parent[last])


@dataclass(frozen=True)
class DataLookup:
    """How a data source finds the object of a kind it reads, other than by name: the newest
    row of a List call given the source's arguments (snake_case of the List request's members)."""

    operation: str
    key: str
    arn_member: str
    fixed: tuple[tuple[str, str], ...] = ()
    """Request members always sent: the sort that puts the newest first, and filters."""
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statuses:
    """How a kind reports progress: the status member of its description and what each value means."""

    member: str
    in_progress: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    deleting: str | None = None
    """The status of an object on its way out (its tags can no longer be listed)."""

    @property
    def settled(self) -> frozenset[str]:
        """Statuses a wait for "ready" stops at: done or failed."""
        return self.done | self.failed


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
    lookup: DataLookup | None = None
    """How a data source of this kind finds its object; None: by `name` (its describe request's id)."""

    @property
    def hashed(self) -> bool:
        return self.identity is Identity.HASHED

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
    def create_shape(self) -> StructureShape:
        return shapes.input_shape(self.create)

    @functools.cached_property
    def _fields(self) -> dict[str, Shape]:
        out: dict[str, Shape] = {}
        for op in (self.create, *self.also):
            shape = shapes.input_shape(op)
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
        return {xform_name(m) for m in shapes.input_shape(op).members}

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
            listing=Listing("ListEndpoints", "Endpoints", "EndpointName", "EndpointArn"),
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
    )
}

BY_STATE_TYPE = {k.state_type: k for k in KINDS.values()}
OWNER_ADDRESS_TAG = "smstate:address"
OWNER_LINEAGE_TAG = "smstate:lineage"
REFERENCE_ATTRS = ("name", "arn", "version")


def rollout_kind() -> Kind:
    """The kind whose objects roll out deployments in stages (what `smstate rollout status` reads)."""
    return next(k for k in KINDS.values() if k.rollouts)

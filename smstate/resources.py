"""The five SageMaker resource kinds smstate manages, and what each may change in place.

Models and endpoint configs are immutable in SageMaker, so their physical name is derived
from the content of their create request: any change is a new name, created before the old
one is destroyed. Endpoints and model package groups are named by their logical name.
Model packages are versions inside a group and are known by ARN.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from botocore import xform_name
from botocore.model import Shape, StructureShape

from . import shapes

ENVELOPE_KEYS = frozenset({"name", "tags", "lifecycle", "depends_on"})


@dataclass(frozen=True)
class Kind:
    """A resource type: its API operations and the rules for changing it."""

    type: str
    state_type: str
    create: str
    describe: str
    delete: str
    name_member: str | None
    hashed: bool
    also: tuple[str, ...] = ()
    mutable: frozenset[str] = field(default_factory=frozenset)
    """Top-level fields SageMaker can change on a live object (compared with the live read)."""
    settings: frozenset[str] = field(default_factory=frozenset)
    """Request-only fields that SageMaker does not report back: kept in state, changed in place."""
    excluded: frozenset[str] = field(default_factory=frozenset)

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


KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind("models", "model", "CreateModel", "DescribeModel", "DeleteModel", "ModelName", hashed=True),
        Kind(
            "endpoint_configs",
            "endpoint_config",
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "DeleteEndpointConfig",
            "EndpointConfigName",
            hashed=True,
        ),
        Kind(
            "endpoints",
            "endpoint",
            "CreateEndpoint",
            "DescribeEndpoint",
            "DeleteEndpoint",
            "EndpointName",
            hashed=False,
            also=("UpdateEndpoint",),
            mutable=frozenset({"endpoint_config_name"}),
            settings=frozenset(
                {
                    "deployment_config",
                    "retain_all_variant_properties",
                    "exclude_retained_variant_properties",
                    "retain_deployment_config",
                }
            ),
        ),
        Kind(
            "model_package_groups",
            "model_package_group",
            "CreateModelPackageGroup",
            "DescribeModelPackageGroup",
            "DeleteModelPackageGroup",
            "ModelPackageGroupName",
            hashed=False,
        ),
        Kind(
            "model_packages",
            "model_package",
            "CreateModelPackage",
            "DescribeModelPackage",
            "DeleteModelPackage",
            None,
            hashed=False,
            mutable=frozenset({"model_approval_status", "customer_metadata_properties"}),
            excluded=frozenset({"ModelPackageName", "ClientToken"}),
        ),
    )
}

BY_STATE_TYPE = {k.state_type: k for k in KINDS.values()}
OWNER_ADDRESS_TAG = "smstate:address"
OWNER_LINEAGE_TAG = "smstate:lineage"
REFERENCE_ATTRS = ("name", "arn", "version")

"""A resource kind's declaration: the traits the rest of the code reads instead of testing a kind's name.

The declarations themselves are the table `KINDS` in `smstate/resources.py`.
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
from .traits import Attachment, Copies, DataLookup, Listing, Part, Reference, SideUpdate, Statuses, TagApi


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

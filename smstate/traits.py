"""The parts of a kind's declaration: how it is listed, what it references, its statuses, its
tag calls, its sub-objects, what it attaches to, its side updates and copies (resources.py
declares the kinds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TagApi:
    """The calls that list, add and remove the tags of a service's objects, by ARN."""

    list: str = "ListTags"
    arn_member: str = "ResourceArn"
    add: str = "AddTags"
    remove: str = "DeleteTags"


@dataclass(frozen=True)
class Part:
    """Sub-objects kept in a map field of the spec, each put and deleted by its name (a scalable target's policies)."""

    member: str
    """The spec's map member (PascalCase) that holds them by name."""
    put: str
    describe: str
    key: str
    """The describe answer's list of them."""
    name_member: str
    delete: str


@dataclass(frozen=True)
class Attachment:
    """An object attached to a part of another kind's object (a scalable target to an endpoint's variant).

    The service refuses to change such a part under it: an update of the holder that removes the
    part, or changes one of its `fixed` fields, detaches it first and attaches it again once the
    holder is ready. Every other update of a holder with attached objects sends `retain: true`, so
    the counts the attached object set are kept.
    """

    holder: str
    """The config type of the holder."""
    holder_path: tuple[str, ...]
    """Where the spec names the holder."""
    part_path: tuple[str, ...]
    """Where the spec names the part (a variant)."""
    via: str
    """The holder's field naming the object that lists its parts (the endpoint config)."""
    parts: str
    """That object's list of parts, and the key that names one."""
    part_key: str
    fixed: frozenset[str]
    """Part fields the service will not change while something is attached (the instance type)."""
    retain: str
    """The holder's update setting that keeps the attached counts."""
    counts: tuple[str, str] = ("current_instance_count", "desired_instance_count")
    """The part's current and desired size, as the holder's live view has them."""


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
    prefix_member: str | None = "NameContains"
    """The List request member that narrows the listing to names with a prefix."""
    page_size: int = 100
    """The largest page the API gives."""
    fixed: tuple[tuple[str, str], ...] = ()
    """Request members every List call of the kind carries."""
    row_id: Callable[[dict[str, Any]], str] | None = None
    """The id of a row, when it is not one member of it."""
    modified_member: str | None = None
    """The row member every change of the object moves (`LastModifiedTime`): a row showing the value
    state recorded, and a settled status, proves the object unchanged but for its tags."""


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
class SideUpdate:
    """A call that changes some mutable fields by themselves, without the rollout of the kind's update."""

    operation: str
    fields: dict[str, str]
    """Config field -> the request member of `operation` that takes it (`runtime_config` -> `DesiredRuntimeConfig`)."""


@dataclass(frozen=True)
class Copies:
    """Objects hosted as copies on an endpoint: where their description names it and counts the copies."""

    endpoint_member: str
    runtime_member: str
    desired_member: str
    current_member: str
    deployment_member: str


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

"""Traits of kinds that live outside SageMaker's own conventions: other services' tag calls, sub-objects."""

from __future__ import annotations

from dataclasses import dataclass


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

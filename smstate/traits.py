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

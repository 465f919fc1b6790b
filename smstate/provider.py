"""The provider interface: read an object, create, change or delete it, wait for it.

The core never talks to an API itself. A provider takes and returns SageMaker's own
request and response shapes (PascalCase); the core converts them to and from config form.
Providers are found by `provider.type` through the `smstate.providers` entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

from .errors import SmstateError
from .resources import Kind


@dataclass(frozen=True)
class Live:
    """An object as the API reports it now."""

    physical_name: str | None
    arn: str | None
    description: dict[str, Any]
    tags: dict[str, str] | None
    """All tags, ownership tags included; None when the API cannot list them for this kind."""
    status: str | None = None
    failure_reason: str | None = None
    version: int | None = None
    created: str | None = None
    modified: str | None = None
    """When the object last changed, for kinds whose List rows show it (`Listing.modified_member`)."""
    unchanged: bool = False
    """The description was not read again: its List row showed the object unchanged since state recorded it."""


@dataclass(frozen=True)
class Summary:
    """One row of a List call: enough to tell an object is still the one recorded."""

    arn: str
    created: str | None
    modified: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Created:
    physical_name: str | None
    arn: str
    version: int | None = None


@dataclass(frozen=True)
class Progress:
    """What a long wait is doing now, for the progress display."""

    status: str
    stage: str = ""
    history: tuple[str, ...] = field(default_factory=tuple)


ProgressFn = Callable[[Progress], None]


class Provider(Protocol):
    """SageMaker, reached somehow: AWS through boto3, or the embedded local server."""

    name: str

    def read(self, kind: Kind, object_id: str) -> Live | None:
        """The object, or None when it does not exist."""

    def create(self, kind: Kind, name: str | None, request: dict[str, Any], tags: dict[str, str]) -> Created:
        """Create the object; `request` holds every field but the name and tags."""

    def update(self, kind: Kind, object_id: str, request: dict[str, Any], operation: str | None = None) -> None:
        """Change the mutable fields in `request` through the kind's update operation (or `operation`,
        one of its side updates)."""

    def set_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None: ...

    def delete(self, kind: Kind, object_id: str) -> None: ...

    def wait(self, kind: Kind, object_id: str, until: str, timeout: float, progress: ProgressFn) -> Live | None:
        """Poll until the object is settled (`until` = "ready") or gone (`until` = "deleted")."""

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        """(id, ARN) of every object of a kind in the account, where the id is what DescribeX takes."""

    def tags_of(self, arn: str) -> dict[str, str]: ...

    def tags_in_bulk(self, arns: list[str]) -> dict[str, dict[str, str]]:
        """ARN (lower-cased) -> tags, for those of `arns` a bulk tagging API reports; the rest are left out."""

    def last_activity(self, kind: Kind, object_id: str) -> dict[str, Any] | None:
        """The newest of the object's activities (`kind.activity`), None when it has none."""

    def first_listed(self, kind: Kind, params: dict[str, Any]) -> str | None:
        """The ARN of the first row the kind's data lookup List call returns with `params` (None: no row)."""

    def list_summaries(self, kind: Kind, created_after: str | None) -> dict[str, Summary]:
        """Name -> Summary of every object of a kind created after a time (`Kind.listed_unchanged`)."""

    def check_network(self, subnets: list[str], security_groups: list[str]) -> list[str]:
        """Names of the subnets and security groups that do not exist; raises nothing on missing permission."""


def load_provider(settings: Any, base_dir: str) -> Provider:
    """The provider for `provider.type`, from the `smstate.providers` entry point group."""
    found = {ep.name: ep for ep in metadata.entry_points(group="smstate.providers")}
    if settings.type not in found:
        raise SmstateError(f"no provider {settings.type!r} is installed (have: {', '.join(sorted(found)) or 'none'})")
    factory = found[settings.type].load()
    provider: Provider = factory(settings, base_dir)
    return provider

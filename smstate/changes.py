"""What a plan is made of: actions, changes with their reasons, drift, the plan itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from .addresses import Address
from .diff import DiffItem

if TYPE_CHECKING:
    from .evaluate import Desired
    from .state import ObjectState


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "+/-", "delete": "-"}[self.value]


class Mode(str, Enum):
    NORMAL = "normal"
    DESTROY = "destroy"
    REFRESH_ONLY = "refresh-only"


@dataclass
class Change:
    """One planned action on one address, with the reason and the attributes that change.

    A replacement of a content-named object is create-before-destroy; one whose name stays
    the same (an endpoint, a group, a pinned name) has to be delete-before-create.
    """

    address: Address
    action: Action
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    diff: list[DiffItem] = field(default_factory=list)
    desired: Desired | None = None
    prior: ObjectState | None = None
    deposed: ObjectState | None = None
    delete_first: bool = False
    precedes: Address | None = None
    """The address whose apply waits for this change's delete (a scalable target deregistered before its
    endpoint's update)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Update settings (config form) the plan adds to the request (keeping an endpoint's scaled counts)."""

    @property
    def type(self) -> str:
        return self.prior.type if self.prior else (self.desired.kind.state_type if self.desired else "")


class DriftKind(str, Enum):
    MODIFIED = "modified"
    DELETED = "deleted"
    UNMANAGED = "unmanaged"


@dataclass
class Drift:
    """Live differs from what state recorded: changed outside smstate, or gone."""

    address: str
    kind: DriftKind
    type: str
    diff: list[DiffItem] = field(default_factory=list)
    physical_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "kind": self.kind.value, "type": self.type}
        if self.physical_name:
            out["physical_name"] = self.physical_name
        out["diff"] = [d.to_json() for d in self.diff]
        return out


@dataclass
class Plan:
    mode: Mode
    lineage: str
    serial: int
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    prior_outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    desired: dict[Address, Desired] = field(default_factory=dict)
    """Every declared resource as the plan evaluated it: apply completes these, never the config."""
    data: dict[str, Any] = field(default_factory=dict)
    """The data sources read whose results change what will be done: address -> what was read."""

    def summary(self) -> dict[str, int]:
        add = sum(1 for c in self.changes if c.action in (Action.CREATE, Action.REPLACE))
        change = sum(1 for c in self.changes if c.action is Action.UPDATE)
        destroy = sum(1 for c in self.changes if c.action in (Action.DELETE, Action.REPLACE))
        return {"add": add, "change": change, "destroy": destroy}

    @property
    def empty(self) -> bool:
        return not self.changes

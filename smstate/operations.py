"""The operations of an apply and the order between them.

A change becomes one or two operations: `apply` (create or update the wanted object) and
`destroy` (delete the old one). Creates and updates follow dependencies; deletes go in
reverse, and an old object is deleted only after everything that used it has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .addresses import Address
from .changes import Action, Change


OpKey = tuple[str, str, str]
"""An operation's key: (step, address, id of the deposed object it deletes or "")."""


class Step(str, Enum):
    APPLY = "apply"
    DESTROY = "destroy"


@dataclass(frozen=True)
class Operation:
    step: Step
    change: Change

    @property
    def key(self) -> OpKey:
        deposed = self.change.deposed.id if self.change.deposed else ""
        return (self.step.value, str(self.change.address), deposed)

    def __str__(self) -> str:
        return str(self.change.address)


OpGraph = dict[OpKey, tuple[Operation, set[OpKey]]]


def operations(changes: list[Change]) -> OpGraph:
    """Every operation with the keys of the operations that must finish before it."""
    ops: dict[OpKey, Operation] = {}
    for change in changes:
        if change.action in (Action.CREATE, Action.UPDATE, Action.REPLACE):
            op = Operation(Step.APPLY, change)
            ops[op.key] = op
        if change.action in (Action.DELETE, Action.REPLACE):
            op = Operation(Step.DESTROY, change)
            ops[op.key] = op
    applies = {str(op.change.address): op for op in ops.values() if op.step is Step.APPLY}
    destroys = [op for op in ops.values() if op.step is Step.DESTROY]
    deps: dict[OpKey, set[OpKey]] = {key: set() for key in ops}
    for op in applies.values():
        desired = op.change.desired
        for dep in desired.dependencies if desired else ():
            if str(dep) in applies:
                deps[op.key].add(applies[str(dep)].key)
        if op.change.action is Action.REPLACE and op.change.delete_first:
            deps[op.key].add(Operation(Step.DESTROY, op.change).key)
    for op in destroys:
        if op.change.precedes is not None and str(op.change.precedes) in applies:
            deps[applies[str(op.change.precedes)].key].add(op.key)
    for op in destroys:
        address = str(op.change.address)
        for other in destroys:
            if other is not op and address in _old_dependencies(other.change):
                deps[op.key].add(other.key)
        if op.change.delete_first:
            continue
        if op.change.action is Action.REPLACE and not op.change.deposed:
            deps[op.key].add(Operation(Step.APPLY, op.change).key)
        for other in applies.values():
            desired = other.change.desired
            if desired and op.change.address in desired.dependencies:
                deps[op.key].add(other.key)
    return {key: (op, deps[key]) for key, op in ops.items()}


def _old_dependencies(change: Change) -> list[str]:
    target = change.deposed or change.prior
    return target.dependencies if target else []


"""In-use guards: what must not be deleted while something still uses it.

A holder kind (an endpoint) keeps in use what it references (the config it serves from),
and what that references in turn (the config's models). SageMaker lets such objects be
deleted anyway, and the endpoint then fails at its next scale-out, update or rollback; so
the planner keeps them and the executor refuses to delete them. Which kinds hold and which
are guarded, and through which fields, are traits of the kinds (`resources.Kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from .resources import BY_STATE_TYPE
from .state import ObjectState

Ref = tuple[str, str]
"""(config type of the target, its physical name)."""

Holds = Callable[[str, ObjectState], Iterable[Ref]]
"""(address, recorded holder) -> what it uses now; nothing when this holder does not count."""


class Users(dict[Ref, str]):
    """What is in use -> what uses it (the first user found), described."""

    def of(self, obj: ObjectState) -> str | None:
        """What uses this object, described; None when nothing does."""
        return self.get((BY_STATE_TYPE[obj.type].type, str(obj.physical_name)))

    def names(self) -> set[str]:
        return {name for _, name in self}


def in_use(resources: Mapping[str, ObjectState], holds: Holds, transitive: bool) -> Users:
    """Everything in use.

    What a living holder uses, as `holds` says, is in use. What a recorded object (the current
    one of an address, unless gone, and the deposed ones) references is in use too: with
    `transitive`, only when that object is itself in use (the planner: the others are deleted
    by the same plan, first); without, whenever it is recorded (the executor, one delete at a time).
    """
    users = Users()
    for address, obj in resources.items():
        kind = BY_STATE_TYPE[obj.type]
        if kind.holds_in_use and obj.status != "gone":
            for ref in holds(address, obj):
                users.setdefault((ref[0], str(ref[1])), f"{label(obj)} {obj.id} ({address}) is still using it")
    recorded = [(address, o) for address, o in _recorded(resources.items()) if not BY_STATE_TYPE[o.type].holds_in_use]
    frontier = set(users) if transitive else {(BY_STATE_TYPE[o.type].type, str(o.physical_name)) for _, o in recorded}
    while frontier:
        found: set[Ref] = set()
        for address, o in recorded:
            kind = BY_STATE_TYPE[o.type]
            if (kind.type, str(o.physical_name)) not in frontier:
                continue
            for target, name in kind.uses(o.spec):
                ref = (target, str(name))
                if ref not in users:
                    users[ref] = f"{label(o)} {o.physical_name} ({address}) still uses it"
                    found.add(ref)
        frontier = found if transitive else set()
    return users


def label(obj: ObjectState) -> str:
    """The object's state type in words, for messages (`endpoint config`)."""
    return obj.type.replace("_", " ")


def _recorded(items: Iterable[tuple[str, ObjectState]]) -> Iterator[tuple[str, ObjectState]]:
    """Every recorded object: the current one of an address (unless gone) and the deposed ones."""
    for address, obj in items:
        if obj.status != "gone":
            yield address, obj
        yield from ((address, deposed) for deposed in obj.deposed)

"""Whose is an object: this state's, another state's, or nobody's (made by hand).

smstate adopts an object only when its tags name this state's lineage and this address (it
made the object, then lost the answer or crashed before saving). Any other object under a
name the config wants is refused, at plan time, before anything is created: a plan that
says "3 to add" and an apply that stops after two would leave half a stack behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .addresses import Address, tag_value
from .changes import Action, Change
from .errors import OwnershipError
from .provider import Live, Provider
from .resources import KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind, Tagging
from .workers import Workers

LIST_FROM = 20
"""Names of one kind from which one List pass is cheaper than describing each."""


def refusal(kind: Kind, address: Address, name: str, live: Live | None, lineage: str) -> str | None:
    """Why the object under `name` cannot be taken by `address` of this state; None when it can (or is absent)."""
    if live is None or kind.tags is Tagging.NONE:
        return None  # an untagged kind is this state's through the object it hangs off, which is checked itself
    tags = live.tags or {}
    if tags.get(OWNER_LINEAGE_TAG) == lineage and tags.get(OWNER_ADDRESS_TAG) == tag_value(str(address)):
        return None
    owner = tags.get(OWNER_LINEAGE_TAG)
    whose = f"belongs to another state (lineage {owner})" if owner else "was not created by smstate"
    return (
        f"{address}: a {kind.state_type.replace('_', ' ')} named {name!r} already exists and {whose}; "
        f"run `smstate import {address} {name}` to manage it"
    )


def check_creates(provider: Provider, changes: Iterable[Change], lineage: str, parallelism: int) -> None:
    """Refuse the plan when a name it would create is taken by an object this state does not own."""
    wanted: dict[str, list[tuple[Address, str]]] = defaultdict(list)
    for change in changes:
        name = _new_name(change)
        if name is not None:
            wanted[change.address.type].append((change.address, name))
    problems: list[str] = []
    for type_name, names in wanted.items():
        kind = KINDS[type_name]
        lives = _listed(provider, kind, names) if len(names) >= LIST_FROM else _described(provider, kind, names, parallelism)
        problems += [p for (address, name), live in zip(names, lives) if (p := refusal(kind, address, name, live, lineage))]
    if problems:
        raise OwnershipError("\n".join(sorted(problems, key=_creation_order)))


def _new_name(change: Change) -> str | None:
    """The name an object gets from this change, when it is known and new (a create, or a replace under another name)."""
    if change.action not in (Action.CREATE, Action.REPLACE) or change.desired is None or change.deposed is not None:
        return None
    name = change.desired.physical_name
    if not isinstance(name, str) or change.desired.kind.name_member is None:
        return None
    if change.prior is not None and change.prior.physical_name == name:
        return None
    return name


def _described(provider: Provider, kind: Kind, names: list[tuple[Address, str]], parallelism: int) -> list[Live | None]:
    # Workers: an interrupt must not wait for a Describe stuck on a hung API.
    with Workers(max_workers=max(1, min(parallelism, len(names)))) as pool:
        return list(pool.map(lambda item: provider.read(kind, item[1]), names))


def _listed(provider: Provider, kind: Kind, names: list[tuple[Address, str]]) -> list[Live | None]:
    """One List pass; tags are read only for the names that exist."""
    arns = dict(provider.list_ids(kind))
    return [
        Live(name, arns[name], {}, provider.tags_of(arns[name])) if name in arns else None
        for _, name in names
    ]


def _creation_order(problem: str) -> tuple[int, str]:
    """Models first, as apply would create them: the first line names the first object in the way."""
    type_name = problem.split(".", 1)[0]
    order = list(KINDS)
    return (order.index(type_name) if type_name in order else len(order), problem)

"""Names known from the config alone, and the references that only use them.

An object named by its logical name (or a pinned `name:`) has that name before it exists, so
a kind whose references need only names (an alarm naming an endpoint in its dimensions) can
be created first: such references order nothing, and make no cycle with the object's own
references back (the endpoint's rollback naming the alarm).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .addresses import Address
from .config import Config
from .errors import Diagnostic
from .hashing import sanitize
from .references import Ref
from .resources import KINDS, Identity

if TYPE_CHECKING:
    from .evaluate import Desired


def name_only(holder: Address, ref: Ref) -> bool:
    """A reference of a `names_only` kind to a logically named object's name: it orders nothing."""
    kind, target = KINDS.get(holder.type), KINDS.get(ref.address.type) if ref.address else None
    return bool(kind and kind.names_only and target and target.identity is Identity.LOGICAL and ref.attr == ("name",))


def logical_name(config: Config, address: Address) -> str | None:
    """The name of a logically named object, known from the config alone; None for other kinds."""
    decl, kind = config.resources[address], KINDS[address.type]
    if kind.identity is not Identity.LOGICAL:
        return None
    return decl.name if decl.name is not None else sanitize(address.label)


def check_unique_names(config: Config, desired: Mapping[Address, Desired], problems: list[Diagnostic]) -> None:
    """Two objects of one type never get the same physical name."""
    seen: dict[tuple[str, str], Address] = {}
    for address, item in desired.items():
        if isinstance(item.physical_name, str):
            key = (address.type, item.physical_name)
            if key in seen:
                problems.append(
                    config.diagnostic(str(address), (), f"physical name {item.physical_name!r} is also used by {seen[key]}")
                )
            seen[key] = address

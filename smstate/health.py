"""What alarms and scaling targets say now: alarm states, capacity bounds, current and desired
size, and the last scaling activity — shown by `smstate rollout status` and `smstate drift`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ProviderError
from .live import attributes
from .provider import Live, Provider
from .resources import BY_STATE_TYPE, KINDS
from .state import ObjectState, State

Read = Callable[[str, ObjectState], Live | None]


def watched(state: State, read: Read, provider: Provider, only: Callable[[ObjectState], bool] = lambda o: True) -> list[dict[str, Any]]:
    """One entry per watched object in state (that `only` keeps), as the API has it now."""
    entries: list[dict[str, Any]] = []
    for address, obj in sorted(state.resources.items()):
        kind = BY_STATE_TYPE[obj.type]
        if kind.watch is None or obj.status == "gone" or not only(obj):
            continue
        live = read(address, obj)
        if live is None:
            continue
        entry = {"address": address, "id": obj.id, **kind.watch(live.description)}
        if kind.attachment is not None:
            entry.update(_size(state, read, obj))
        entry.update(_copies(state, read, obj))
        if kind.activity is not None:
            entry["last_activity"] = _activity(provider, obj)
        entries.append(entry)
    return entries


def _size(state: State, read: Read, obj: ObjectState) -> dict[str, Any]:
    """The current and desired size of the part the object is attached to, from its holder's live view."""
    link = BY_STATE_TYPE[obj.type].attachment
    assert link is not None
    value: Any = obj.spec
    for step in link.holder_path:
        value = value.get(step) if isinstance(value, dict) else None
    part: Any = obj.spec
    for step in link.part_path:
        part = part.get(step) if isinstance(part, dict) else None
    for address, holder in state.resources.items():
        holder_kind = BY_STATE_TYPE[holder.type]
        if holder_kind.type != link.holder or holder.physical_name != value:
            continue
        live = read(address, holder)
        parts = attributes(holder_kind, live).get(link.parts, []) if live is not None else []
        for item in parts:
            if item.get(link.part_key) == part:
                return {"current_capacity": item.get(link.counts[0]), "desired_capacity": item.get(link.counts[1])}
    return {"current_capacity": None, "desired_capacity": None}


def _copies(state: State, read: Read, obj: ObjectState) -> dict[str, Any]:
    """The current and desired copies of an object hosted as copies that `obj` references (a
    scaling target's inference component), from that object's live description."""
    for target, name in BY_STATE_TYPE[obj.type].uses(obj.spec):
        copies = KINDS[target].copies
        if copies is None:
            continue
        for address, hosted in state.resources.items():
            if hosted.type != KINDS[target].state_type or hosted.physical_name != name:
                continue
            live = read(address, hosted)
            runtime = (live.description.get(copies.runtime_member) or {}) if live is not None else {}
            current, desired = runtime.get(copies.current_member), runtime.get(copies.desired_member)
            return {"current_capacity": current, "desired_capacity": desired}
    return {}


def _activity(provider: Provider, obj: ObjectState) -> dict[str, Any] | None:
    try:
        found = provider.last_activity(BY_STATE_TYPE[obj.type], obj.id)
    except ProviderError as exc:
        return {"error": str(exc)}
    if found is None:
        return None
    return {
        "status": found.get("StatusCode"),
        "description": found.get("Description"),
        "cause": found.get("Cause"),
        "start": str(found.get("StartTime")) if found.get("StartTime") else None,
    }


def reader(provider: Provider, lives: Mapping[tuple[str, int], Live | None] | None = None) -> Read:
    """Reads through `lives` (a refresh already made) where it can, else through the provider."""

    def read(address: str, obj: ObjectState) -> Live | None:
        if lives is not None and (address, -1) in lives:
            return lives[(address, -1)]
        return provider.read(BY_STATE_TYPE[obj.type], obj.id)

    return read


def lines(entries: list[dict[str, Any]]) -> list[str]:
    """The entries as text, one or two lines each."""
    out: list[str] = []
    for entry in entries:
        if "state" in entry:
            out.append(f"  {entry['address']} ({entry['id']}): {entry['state']} - {entry.get('reason') or 'no reason given'}")
            continue
        out.append(
            f"  {entry['address']} ({entry['id']}): {entry.get('current_capacity')} current, "
            f"{entry.get('desired_capacity')} desired, min {entry.get('min_capacity')}, max {entry.get('max_capacity')}"
        )
        activity = entry.get("last_activity")
        if activity and "error" in activity:
            out.append(f"    last scaling activity: cannot be read ({activity['error']})")
        elif activity:
            out.append(f"    last scaling activity: {activity['status']} - {activity['description']} ({activity['start']})")
        else:
            out.append("    last scaling activity: none")
    return out

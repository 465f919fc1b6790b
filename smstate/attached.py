"""The order a service imposes on objects attached to another's parts, planned as changes with reasons.

SageMaker refuses an endpoint update that changes the instance type of, or removes, a variant
that Application Auto Scaling scales: the scalable target (and its policies) must be deregistered
first and registered again once the endpoint is InService. Every other update of an endpoint
with a scaled variant keeps the scaled instance counts (RetainAllVariantProperties) unless the
config says otherwise. Pure: the plan's changes, the state and the desired specs in, changes out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from .addresses import Address
from .changes import Action, Change
from .evaluate import Desired
from .resources import KINDS, Kind
from .state import ObjectState, State
from .traits import Attachment


def _at(spec: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return value


def attached(state: State, holder: Address, holder_id: str | None) -> Iterator[tuple[Address, ObjectState, Attachment]]:
    """Objects in state attached to the holder's parts."""
    for address_text, obj in sorted(state.resources.items()):
        address = Address.parse(address_text)
        link = KINDS[address.type].attachment
        if link and link.holder == holder.type and obj.status != "gone" and _at(obj.spec, link.holder_path) == holder_id:
            yield address, obj, link


def _parts(state: State, desired: Mapping[Address, Desired], kind: Kind, name: Any, link: Attachment) -> dict[str, Any] | None:
    """The parts listed by the object `name` of the kind the holder's `via` field references, by part key."""
    target = next((r.target for r in kind.references if r.path == (link.via,)), None)
    specs = [d.spec for d in desired.values() if d.address.type == target and d.physical_name == name]
    for address_text, obj in state.resources.items():
        if Address.parse(address_text).type == target:
            specs += [o.spec for o in (obj, *obj.deposed) if o.physical_name == name]
    if not specs or not isinstance(name, str):
        return None
    return {str(p.get(link.part_key)): p for p in specs[0].get(link.parts) or [] if isinstance(p, dict)}


def _why(link: Attachment, part: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str | None:
    """Why the holder's update must detach what is attached to `part`; None when it need not."""
    if before is None or part not in before:
        return None
    if after is None:
        return None  # the new parts are not known at plan time: nothing can be said
    if part not in after:
        return f"removes {link.part_key.split('_')[0]} {part}"
    for field_name in sorted(link.fixed):
        old, new = before[part].get(field_name), after[part].get(field_name)
        if old != new:
            return f"changes the {field_name} of {link.part_key.split('_')[0]} {part} ({old} -> {new})"
    return None


def order_attached(changes: list[Change], state: State, desired: Mapping[Address, Desired]) -> list[Change]:
    """The changes, with attached objects detached before the holder updates that need it, and
    the holder's update keeping the attached counts."""
    by_address = {c.address: c for c in changes if c.deposed is None}
    out = list(changes)
    for change in changes:
        if change.action is not Action.UPDATE or change.prior is None or change.desired is None:
            continue
        kind = change.desired.kind
        found = list(attached(state, change.address, change.prior.physical_name))
        kept: list[str] = []
        for address, obj, link in found:
            before = _parts(state, desired, kind, change.prior.spec.get(link.via), link)
            after = _parts(state, desired, kind, change.desired.spec.get(link.via), link)
            why = _why(link, str(_at(obj.spec, link.part_path)), before, after)
            current = by_address.get(address)
            if why is None and (current is None or current.action is not Action.DELETE):
                kept.append(str(address))
                continue
            detach = _detached(address, obj, desired.get(address), current, change.address, why)
            out = [detach if c is current else c for c in out] + ([] if current is not None else [detach])
        retain = found[0][2].retain if found else None
        if kept and retain and retain not in change.desired.spec:
            change.settings = {**change.settings, retain: True}
            change.reason += f"; {retain} is sent as true: {', '.join(kept)} scales it"
    return out


def _detached(
    address: Address, obj: ObjectState, wanted: Desired | None, current: Change | None, holder: Address, why: str | None
) -> Change:
    """The attached object's change: deleted before the holder's update, and (if still wanted) put back after it."""
    if current is not None and current.action is Action.DELETE:
        return replace(current, precedes=holder)
    if wanted is None:
        raise AssertionError(f"{address} is in the config but was not evaluated")
    kind = KINDS[address.type]
    reason = f"{holder} {why}: {kind.delete} before that update, {kind.create} again once it is ready"
    before = {**obj.spec, **({"tags": obj.tags} if obj.tags else {})}
    after = current.after if current is not None else before
    items = current.diff if current is not None else []
    return Change(address, Action.REPLACE, reason, before, after, items, wanted, obj, delete_first=True, precedes=holder)

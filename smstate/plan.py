"""The planner: refreshed live objects + recorded state + desired specs -> changes and drift.

Pure: no API, no disk. Every change carries its reason, so users see why, not only what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .addresses import Address, tag_value
from .attached import order_attached
from .changes import Action, Change, Drift, DriftKind, Mode, Plan
from .config import Config, Lifecycle
from .diff import DiffItem, diff, without_ignored
from .errors import SmstateError
from .evaluate import Desired, Evaluation
from .graph import closure
from .hashing import StateKey
from .inuse import in_use
from .live import attributes, user_tags
from .provider import Live
from .resources import BY_STATE_TYPE, KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind
from .state import ObjectState, State, recorded, redact, redact_like
from .values import Unknown


@dataclass(frozen=True)
class Options:
    mode: Mode = Mode.NORMAL
    targets: frozenset[Address] = field(default_factory=frozenset)
    replace: frozenset[Address] = field(default_factory=frozenset)


LiveKey = tuple[str, int]
"""(address, -1) for the current object of an address, (address, i) for its i-th deposed object."""


def refresh(
    state: State, lives: Mapping[LiveKey, Live | None], lifecycles: Mapping[str, Lifecycle]
) -> tuple[State, list[Drift]]:
    """State as the live world has it now, and how that differs from what was recorded."""
    refreshed = replace(state, resources={}, outputs=dict(state.outputs))
    drift: list[Drift] = []
    for address, obj in sorted(state.resources.items()):
        kind = BY_STATE_TYPE[obj.type]
        deposed = [d for i, d in enumerate(obj.deposed) if lives.get((address, i)) is not None]
        live = lives.get((address, -1))
        if (address, -1) not in lives:
            refreshed.resources[address] = replace(obj, deposed=deposed)
            continue
        if _unconfirmed(obj):
            _confirm(refreshed, address, obj, live, deposed, kind)
            continue
        if live is None:
            drift.append(Drift(address, DriftKind.DELETED, obj.type, physical_name=obj.id))
            if deposed:
                refreshed.resources[address] = replace(obj, status="gone", deposed=deposed)
            continue
        if live.unchanged:
            now = {k: v for k, v in obj.attributes.items() if k != "tags"}
            now.update({"tags": tags} if (tags := user_tags(live.tags)) else {})
            now = redact_like(now, recorded(obj), state.hash_key)
        else:
            now = redact_like(attributes(kind, live), recorded(obj), state.hash_key)
        ignore = lifecycles[address].ignore_changes if address in lifecycles else []
        changed = without_ignored(diff(obj.attributes, now), ignore)
        if changed:
            drift.append(Drift(address, DriftKind.MODIFIED, obj.type, changed, obj.id))
        refreshed.resources[address] = replace(
            obj, attributes=now, arn=live.arn or obj.arn, deposed=deposed, created=live.created or obj.created,
            modified=live.modified or obj.modified, status=_status(obj.status, live.status),
        )
    return refreshed, drift


def _status(recorded: str, live: str | None) -> str:
    """An endpoint that ended Failed is tainted: the next apply replaces it."""
    if live == "Failed":
        return "tainted"
    return "ready" if recorded == "creating" and live in (None, "InService", "Completed") else recorded


def _unconfirmed(obj: ObjectState) -> bool:
    """A create that apply stopped waiting for: recorded by name only, never read back."""
    return obj.status == "creating" and not obj.arn


def _confirm(refreshed: State, address: str, obj: ObjectState, live: Live | None, deposed: list[ObjectState], kind: Kind) -> None:
    """Keep an unconfirmed create if it happened, with what the API says; else forget it, without drift.

    Only an object carrying this state's ownership tags for this address is kept: the create may
    never have been sent, and another object of that name is never this state's.
    """
    tags = (live.tags or {}) if live is not None else {}
    if live is None or tags.get(OWNER_LINEAGE_TAG) != refreshed.lineage or tags.get(OWNER_ADDRESS_TAG) != tag_value(address):
        if deposed:
            refreshed.resources[address] = replace(obj, status="gone", deposed=deposed)
        return
    now = redact_like(attributes(kind, live), recorded(obj), refreshed.lineage)
    refreshed.resources[address] = replace(
        obj, attributes=now, arn=live.arn, deposed=deposed, created=live.created, modified=live.modified,
        status=_status(obj.status, live.status),
    )


def make_plan(config: Config, evaluation: Evaluation, state: State, drift: list[Drift], options: Options) -> Plan:
    """Changes that make the (refreshed) state match the config."""
    plan = Plan(
        options.mode, state.lineage, state.serial, drift=drift, outputs=evaluation.outputs,
        prior_outputs=dict(state.outputs), desired=dict(evaluation.desired),
    )
    known = set(evaluation.desired) | {Address.parse(a) for a in state.resources}
    for flag, addresses in (("--target", options.targets), ("--replace", options.replace)):
        missing = sorted(str(a) for a in addresses if a not in known)
        if missing:
            raise SmstateError(f"{flag} {', '.join(missing)}: no such resource in the config or the state")
    if options.mode is Mode.REFRESH_ONLY:
        return plan
    changes: list[Change] = []
    if options.mode is Mode.DESTROY:
        changes += [
            _delete(Address.parse(a), obj, "destroy requested")
            for a, obj in sorted(state.resources.items())
            if obj.status != "gone"
        ]
    else:
        gone = {d.address for d in drift if d.kind is DriftKind.DELETED}
        for address, desired in evaluation.desired.items():
            prior = state.resources.get(str(address))
            change = _change(desired, prior, state.hash_key, address in options.replace, str(address) in gone)
            if change is not None:
                changes.append(change)
        for address_text, obj in sorted(state.resources.items()):
            address = Address.parse(address_text)
            if address not in evaluation.desired and obj.status != "gone":
                changes.append(_delete(address, obj, "not in config"))
        changes = order_attached(changes, state, evaluation.desired)
    # An endpoint this plan changes (or deletes) leaves its old config first: the delete of a
    # deposed object is ordered after that change, and skipped if the change fails.
    serving = _serving(state, {str(c.address) for c in changes if KINDS[c.address.type].holds_in_use})
    for address_text, obj in sorted(state.resources.items()):
        for deposed in obj.deposed:
            if deposed.physical_name not in serving:
                changes.append(_delete(Address.parse(address_text), obj, "replaced; the old object still exists", deposed))
    changes = _targeted(changes, state, evaluation, options)
    _check_prevent_destroy(config, changes)
    _check_in_use(changes, state)
    plan.changes = sorted(changes, key=lambda c: (str(c.address), c.deposed is not None))
    return plan


def _serving(state: State, moving: set[str]) -> set[str]:
    """Names of the objects that live holders (endpoints) serve from and will keep serving from
    (all holders but the `moving` ones), and of everything those use in turn: never deleted."""

    def holds(address: str, holder: ObjectState) -> list[tuple[str, Any]]:
        return [] if address in moving else BY_STATE_TYPE[holder.type].uses(holder.attributes)

    return in_use(state.resources, holds, transitive=True).names()


def _change(desired: Desired, prior: ObjectState | None, key: StateKey, forced: bool, gone: bool) -> Change | None:
    after = _after(desired, key)
    if prior is None or prior.status == "gone":
        reason = "deleted outside smstate" if gone or prior is not None else "not in state"
        return Change(desired.address, Action.CREATE, reason, None, after, desired=desired, prior=None)
    before = {**prior.spec, **({"tags": prior.tags} if prior.tags else {})}
    spec_diff = diff(prior.spec, after_spec := {k: v for k, v in after.items() if k != "tags"})
    kind = desired.kind
    if forced:
        return _replace(desired, prior, before, after, "--replace requested", spec_diff)
    if prior.status == "tainted":
        return _replace(desired, prior, before, after, "tainted: it failed to become ready", spec_diff)
    if desired.physical_name is not None and desired.physical_name != prior.physical_name:
        if isinstance(desired.physical_name, Unknown):
            reason = "spec depends on values known after apply"
        elif kind.hashed and not desired.pinned:
            reason = _spec_reason(spec_diff, kind.mutable | kind.settings)
        else:
            reason = "name changed"
        return _replace(desired, prior, before, after, reason, spec_diff)
    if desired.spec_hash != prior.spec_hash and not kind.spec_in_place:
        reason = _spec_reason(spec_diff, kind.mutable | kind.settings)
        return _replace(desired, prior, before, after, reason, spec_diff, delete_first=desired.physical_name is not None)
    items = _in_place(desired, prior, after_spec, after.get("tags") or {})
    items = without_ignored(items, desired.lifecycle.ignore_changes)
    if not items:
        return None
    reason = ", ".join(sorted({i.path.split(".")[0].split("[")[0] for i in items})) + " changed"
    return Change(desired.address, Action.UPDATE, reason, before, after, items, desired, prior)


def _in_place(desired: Desired, prior: ObjectState, after_spec: dict[str, Any], tags: dict[str, str]) -> list[DiffItem]:
    kind = desired.kind
    items: list[DiffItem] = []
    for name in sorted(kind.changeable):
        if name not in after_spec and name not in prior.spec:
            continue  # never set in the config: what the server filled in (a default approval status) is not a change
        items += _prefixed(name, prior.attributes.get(name), after_spec.get(name))
    for name in sorted(kind.settings):
        items += _prefixed(name, prior.spec.get(name), after_spec.get(name))
    live_tags = prior.attributes.get("tags", {}) if BY_STATE_TYPE[prior.type].tags_readable else prior.tags
    items += _prefixed("tags", live_tags or {}, tags)
    return items


def _prefixed(name: str, before: Any, after: Any) -> list[DiffItem]:
    if before == after or (before in (None, {}, []) and after in (None, {}, [])):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return [DiffItem(f"{name}.{i.path}" if i.path else name, i.before, i.after) for i in diff(before, after)]
    return [DiffItem(name, before, after)]


def _spec_reason(items: list[DiffItem], mutable: frozenset[str]) -> str:
    paths = [i.path for i in items if i.path.split(".")[0].split("[")[0] not in mutable]
    if not paths:
        return "spec changed"
    shown = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
    return f"spec changed: {shown}"


def _replace(
    desired: Desired,
    prior: ObjectState,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str,
    spec_diff: list[DiffItem],
    delete_first: bool = False,
) -> Change:
    tags = _prefixed("tags", prior.tags, after.get("tags") or {})
    same_name = desired.physical_name is not None and desired.physical_name == prior.physical_name
    return Change(
        desired.address, Action.REPLACE, reason, before, after, spec_diff + tags, desired, prior,
        delete_first=delete_first or same_name,
    )


def _delete(address: Address, obj: ObjectState, reason: str, deposed: ObjectState | None = None) -> Change:
    target = deposed or obj
    before = {**target.spec, **({"tags": target.tags} if target.tags else {})}
    return Change(address, Action.DELETE, reason, before, None, prior=obj, deposed=deposed)


def _after(desired: Desired, key: StateKey) -> dict[str, Any]:
    out = redact(desired.spec, key)
    if desired.tags:
        out["tags"] = redact(dict(desired.tags), key)
    return out


def _targeted(changes: list[Change], state: State, evaluation: Evaluation, options: Options) -> list[Change]:
    if not options.targets:
        return changes
    known = set(evaluation.desired) | {Address.parse(a) for a in state.resources}
    targets = set(options.targets) | {a for a in known if a.block in options.targets}  # a block: all its instances
    if options.mode is Mode.DESTROY:  # what depends on a target goes first
        dependents: dict[Address, set[Address]] = {}
        for address, obj in state.resources.items():
            for dep in obj.dependencies:
                dependents.setdefault(Address.parse(dep), set()).add(Address.parse(address))
        wanted = closure(targets, lambda a: dependents.get(a, ()))
    else:  # what a target depends on must exist first
        wanted = closure(targets, lambda a: evaluation.graph.edges.get(a, ()))
    return [c for c in changes if c.address in wanted]


def _check_prevent_destroy(config: Config, changes: list[Change]) -> None:
    for change in changes:
        decl = config.resources.get(change.address)
        if decl and decl.lifecycle.prevent_destroy and change.action in (Action.DELETE, Action.REPLACE) and not change.deposed:
            raise SmstateError(
                f"{change.address} has lifecycle.prevent_destroy set, but this plan would "
                f"{'replace' if change.action is Action.REPLACE else 'destroy'} it ({change.reason}); "
                "remove prevent_destroy to allow it"
            )


def _check_in_use(changes: list[Change], state: State) -> None:
    """A pinned model or config that must be deleted first while something still uses it is refused."""
    leaving = {str(c.address) for c in changes if c.action in (Action.DELETE, Action.REPLACE)}
    for change in changes:
        if not (change.action is Action.REPLACE and change.delete_first and KINDS[change.address.type].guard_in_use):
            continue
        users = [
            a for a, obj in state.resources.items()
            if str(change.address) in obj.dependencies and (a not in leaving or _replaced_first(changes, a))
        ]
        if users:
            hint = (
                "remove `name:` so smstate can create the new one first"
                if change.desired is not None and change.desired.pinned
                else f"replace its users too (--replace {' --replace '.join(sorted(users))})"
            )
            raise SmstateError(
                f"{change.address} keeps its name, so replacing it means deleting it first, but "
                f"{', '.join(sorted(users))} still uses it; {hint}"
            )


def _replaced_first(changes: list[Change], address: str) -> bool:
    return any(str(c.address) == address and c.action is Action.REPLACE and not c.delete_first for c in changes)


def lifecycles(config: Config) -> dict[str, Lifecycle]:
    return {str(a): d.lifecycle for a, d in config.resources.items()}


"""Re-keying a state: its hashes of sensitive values move from one key to another.

A keyed hash cannot be converted without the value it stands for, so re-keying takes the
values from the config: each recorded hash that the previous key gives for today's value is
replaced by the hash the current key gives. What the config no longer holds keeps its old
hash and shows as changed, which it is. Pure: the state and the desired specs in, a state out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .addresses import Address
from .evaluate import Desired
from .hashing import StateKey
from .state import ObjectState, State, redact
from .values import has_secret


def rekey(state: State, desired: Mapping[Address, Desired]) -> State:
    """The state with every hash it can re-derive from `desired` made under `state.key`."""
    previous = state.previous_key
    if previous is None:
        return state
    resources = {}
    for address, obj in state.resources.items():
        wanted = desired.get(Address.parse(address))
        secret = wanted is not None and (has_secret(wanted.spec) or has_secret(wanted.tags))
        resources[address] = _object(obj, wanted, previous, state.hash_key) if wanted is not None and secret else obj
    return replace(state, resources=resources, previous_key=None)


def _object(obj: ObjectState, desired: Desired, previous: StateKey, key: StateKey) -> ObjectState:
    plain = {**desired.spec, "tags": desired.tags}
    old, new = redact(plain, previous), redact(plain, key)
    both = _swap({**obj.spec, "tags": obj.tags}, old, plain, new)
    spec_hash = obj.spec_hash
    if desired.previous_hash is not None and obj.spec_hash == desired.previous_hash and isinstance(desired.spec_hash, str):
        spec_hash = desired.spec_hash
    return replace(
        obj,
        spec={k: v for k, v in both.items() if k != "tags"},
        tags=both.get("tags", {}),
        attributes=_swap(obj.attributes, old, plain, new),
        spec_hash=spec_hash,
    )


def _swap(recorded: Any, old: Any, plain: Any, new: Any) -> Any:
    """`recorded` with each part equal to the old hash of a sensitive value (or, from before
    values of every type were hidden, to the value itself) replaced by its new hash."""
    if old != new and (recorded == old or (recorded == plain and old != plain)):
        return new
    if isinstance(recorded, dict) and isinstance(old, dict) and isinstance(plain, dict) and isinstance(new, dict):
        return {k: _swap(v, old.get(k), plain.get(k), new.get(k)) if k in new else v for k, v in recorded.items()}
    if isinstance(recorded, list) and isinstance(old, list) and isinstance(plain, list) and isinstance(new, list):
        if len(recorded) == len(old) == len(plain) == len(new):
            return [_swap(*parts) for parts in zip(recorded, old, plain, new)]
    return recorded

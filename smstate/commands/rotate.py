"""`smstate state rotate-key`: a new state key, with the state's hashes re-derived under it.

A keyed hash cannot be converted without the value behind it, so the values come from the
config (its variables, as for plan): every hash the old key gives for today's value is
replaced by the new key's. The new key is stored beside the state (or is the one
`SMSTATE_STATE_KEY` names, the old one then given as `SMSTATE_STATE_KEY_PREVIOUS`).
Object names are kept, so nothing is replaced; what no longer matches the config keeps an
old hash and shows as changed, as it would have anyway.
"""

from __future__ import annotations

import os

from ..errors import SmstateError
from ..pipeline import Inputs, load, locked, rekeyed
from ..hashing import StateKey
from ..statekey import ENV, ENV_PREVIOUS, from_env
from .run import out


def rotate_key(inputs: Inputs, lost: bool) -> int:
    loaded = load(inputs)
    backend = loaded.workspace.backend(loaded.config)
    with locked(backend, "rotate-key", inputs.lock_timeout):
        state = backend.inner.read() if lost else backend.read()
        key = from_env(ENV) or StateKey.generate()
        if state is None:
            if ENV not in os.environ:
                backend.store.save(key)
            out.print(f"No state yet; the state key is now {key.id}.")
            return 0
        if lost:
            state.previous_key = StateKey.generate()  # matches nothing: every hash is made anew at the next apply
        elif state.key is None:
            raise SmstateError(state.key_problem or "the state's key is not at hand")
        elif ENV in os.environ and state.previous_key is None:
            raise SmstateError(
                f"{ENV} is the key the state already uses: set it to the new key and {ENV_PREVIOUS} to the old one"
            )
        elif state.previous_key is None:
            state.previous_key = state.key
        old_id = state.key_id or "none (hashed with the lineage)"
        state.key = key
        state = rekeyed(loaded, state)
        if ENV in os.environ:
            backend.commit(state)
        else:
            backend.rotate(state, key)
    out.print(f"Rotated the state key of {backend.describe()}: {old_id} -> {key.id}.")
    return 0

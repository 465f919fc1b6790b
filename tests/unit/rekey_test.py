"""Re-keying a state (rekey.py): from the lineage-keyed hashes of older statefiles, or from one
state key to the next, with no change planned, no object renamed, and no old hash left."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from smstate import config as config_mod
from smstate import importing
from smstate.addresses import Address
from smstate.evaluate import Keys, evaluate
from smstate.hashing import StateKey
from smstate.live import attributes
from smstate.pipeline import Inputs, build_plan, known_values, load
from smstate.plan import Options, lifecycles, make_plan, refresh
from smstate.rekey import rekey
from smstate.resources import KINDS
from smstate.state import ObjectState, State, redact, redact_like
from smstate.values import Secret, mark
from tests.unit.plan_test import describe

CONFIG = """\
variables:
  token: {sensitive: true}
  creds: {sensitive: true, type: map}
models:
  m:
    primary_container:
      image: i
      model_data_url: s3://b/k
      environment: {TOKEN: "${var.token}", PLAIN: x}
    tags: {owner: "${var.token}"}
  n:
    primary_container: {image: i, model_data_url: s3://b/k, environment: "${var.creds}"}
endpoint_configs:
  c:
    production_variants: [{variant_name: a, model_name: "${models.m.name}", instance_type: ml.m5.large, initial_instance_count: 1}]
"""
TOKEN, CREDS = "tok-1d2e3f4a", {"KEY": "creds-9a8b7c6d"}
NEW = StateKey(b"rekey-test-new-key-0123456789")
OLD = StateKey(b"rekey-test-old-key-0123456789")
CONFIGURED = config_mod.load([("smstate.yaml", CONFIG)])


def digest(url: str) -> str:
    return "0" * 64


def applied(values: dict[str, Any], key: StateKey | str) -> tuple[State, dict[tuple[str, int], Any]]:
    """The state apply would have written with `key` (a lineage: the scheme before state keys)."""
    hashing = key if isinstance(key, StateKey) else StateKey.of_lineage(key)
    state = State(lineage="lin", key=hashing)
    lives = {}
    for address, desired in evaluate(CONFIGURED, values, {}, digest, keys=Keys(hashing)).desired.items():
        live = describe(desired)
        lives[(str(address), -1)] = live
        spec, tags = redact(desired.spec, key), redact(dict(desired.tags), key)
        state.resources[str(address)] = ObjectState(
            type=desired.kind.state_type, physical_name=live.physical_name, arn=live.arn, spec_hash=str(desired.spec_hash),
            spec=spec, tags=tags, attributes=redact_like(attributes(desired.kind, live), {**spec, "tags": tags}, key),
            dependencies=[str(d) for d in desired.dependencies],
        )
    return state, lives


def plan_after_rekey(state: State, lives: dict[tuple[str, int], Any], previous: StateKey) -> tuple[State, Any]:
    values = {"token": mark(TOKEN), "creds": mark(CREDS)}
    state.key, state.previous_key = NEW, previous
    rekeyed = rekey(state, evaluate(CONFIGURED, values, known_values(state), digest, keys=Keys(NEW, previous)).desired)
    refreshed, drift = refresh(rekeyed, lives, lifecycles(CONFIGURED))
    evaluation = evaluate(CONFIGURED, values, known_values(refreshed), digest, keys=Keys(NEW))
    return refreshed, make_plan(CONFIGURED, evaluation, refreshed, drift, Options())


def test_a_statefile_from_before_state_keys_is_rekeyed_without_changes() -> None:
    # then, only strings were marked: the map went to state in clear, the token hashed with the lineage
    state, lives = applied({"token": Secret(TOKEN), "creds": CREDS}, "lin")
    before = state.dumps()
    names = {a: o.physical_name for a, o in state.resources.items()}

    refreshed, plan = plan_after_rekey(state, lives, StateKey.of_lineage("lin"))

    assert plan.changes == [] and plan.drift == []
    assert {a: o.physical_name for a, o in refreshed.resources.items()} == names  # nothing renamed, so nothing replaced
    after = refreshed.dumps()
    assert json.loads(after)["key_id"] == NEW.id
    assert CREDS["KEY"] not in after and CREDS["KEY"] in before
    assert state.resources["models.m"].spec_hash not in after  # the unkeyed hash of a request holding the token
    assert redact(Secret(TOKEN), "lin") not in after


def test_rotating_the_key_rehashes_everything_and_renames_nothing() -> None:
    state, lives = applied({"token": mark(TOKEN), "creds": mark(CREDS)}, OLD)
    old_hashes = {redact(mark(TOKEN), OLD), redact(mark(CREDS), OLD), state.resources["models.m"].spec_hash}
    assert all(h in state.dumps() for h in old_hashes)

    refreshed, plan = plan_after_rekey(state, lives, OLD)

    assert plan.changes == [] and plan.drift == []
    assert refreshed.resources["models.m"].physical_name == state.resources["models.m"].physical_name
    assert not [h for h in old_hashes if h in refreshed.dumps()]


def test_hashes_under_an_unknown_key_are_changes() -> None:
    state, lives = applied({"token": mark(TOKEN), "creds": mark(CREDS)}, OLD)

    _, plan = plan_after_rekey(state, lives, StateKey(b"not-the-key-it-was-written-with"))

    assert {(str(c.address), c.action.value) for c in plan.changes} >= {("models.m", "replace"), ("models.n", "replace")}


def test_an_imported_object_whose_values_the_config_marks_sensitive_is_no_change_and_is_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`smstate import` records the live spec in clear; once the config names those values
    sensitive, the plan says no change and the state keeps only their keyed hashes."""
    (tmp_path / "smstate.yaml").write_text(CONFIG.replace("  m:\n", "  m:\n    name: hand-made\n"))
    monkeypatch.setenv("SMSTATE_VAR_token", TOKEN)
    monkeypatch.setenv("SMSTATE_VAR_creds", json.dumps(CREDS))
    loaded = load(Inputs(chdir=str(tmp_path)))
    state = loaded.workspace.backend(loaded.config).new_state()
    plain = evaluate(CONFIGURED, {"token": TOKEN, "creds": CREDS}, {}, loaded.workspace.digest).desired
    hand_made = replace(plain[Address.parse("models.m")], physical_name="hand-made")
    state.resources["models.m"] = importing.object_state(KINDS["models"], describe(hand_made), loaded.workspace.digest)
    assert TOKEN in state.dumps()

    plan, refreshed = build_plan(loaded, None, state, Options(), 1)

    assert [(str(c.address), c.action.value) for c in plan.changes if str(c.address) == "models.m"] == []
    assert TOKEN not in refreshed.dumps() and refreshed.resources["models.m"].physical_name == "hand-made"

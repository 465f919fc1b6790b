"""Addresses with instance keys and module paths, and the physical names they give (address_cases.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from smstate import shapes
from smstate.addresses import Address
from smstate.errors import SmstateError
from smstate.hashing import physical_name
from smstate.moved import apply_moves
from smstate.state import ObjectState, State

CASES = yaml.safe_load((Path(__file__).parent / "address_cases.yaml").read_text())["cases"]
MODEL_NAME = shapes.input_shape("CreateModel").members["ModelName"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_address(case: dict[str, Any]) -> None:
    if case.get("invalid"):
        with pytest.raises(SmstateError, match="invalid address"):
            Address.parse(case["text"])
        return
    address = Address.parse(case["text"])
    assert str(address) == case["text"]
    assert address.key == case.get("key", "")
    assert list(address.module) == case.get("module", [])
    assert address.label == case["label"]
    assert len(address.label) <= 63
    hashed = physical_name(address.label, "0123456789abcdef")
    assert len(hashed) <= 63
    assert shapes.validate(MODEL_NAME, address.label) == [] and shapes.validate(MODEL_NAME, hashed) == []
    assert re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", address.label)


def test_a_cut_label_stays_apart_from_another_with_the_same_start() -> None:
    long = "x" * 70
    assert Address.parse(f'models.{long}["a"]').label != Address.parse(f'models.{long}["b"]').label


def _state(*addresses: str) -> State:
    return State(lineage="l", resources={a: ObjectState("model", physical_name=a) for a in addresses})


@pytest.mark.parametrize(
    ("recorded", "moves", "after"),
    [
        (["models.m"], [("models.m", 'models.m["churn"]')], ['models.m["churn"]']),
        (['models.a["x"]', 'models.a["y"]'], [("models.a", "models.b")], ['models.b["x"]', 'models.b["y"]']),
        (["models.m"], [("models.m", "module.checkout.models.main")], ["module.checkout.models.main"]),
        (["models.m", "models.n"], [("models.m", "models.n")], ["models.m", "models.n"]),  # the target is taken: nothing moves
        (["models.k"], [("models.m", "models.n")], ["models.k"]),
    ],
)
def test_moved_entries_re_address_state(recorded: list[str], moves: list[tuple[str, str]], after: list[str]) -> None:
    state, done = apply_moves(_state(*recorded), [(Address.parse(a), Address.parse(b)) for a, b in moves])
    assert sorted(state.resources) == sorted(after)
    assert all(state.resources[a].physical_name in recorded for a in after)
    assert bool(done) == (sorted(after) != sorted(recorded))

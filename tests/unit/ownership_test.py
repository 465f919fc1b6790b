"""Names a plan would create, checked against a provider double: refused unless this state made the object."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from smstate import config as config_mod
from smstate.changes import Mode
from smstate.errors import OwnershipError
from smstate.evaluate import evaluate
from smstate.hashing import StateKey
from smstate.ownership import LIST_FROM, check_creates
from smstate.plan import Options, make_plan
from smstate.provider import Live
from smstate.resources import Kind
from smstate.state import State

LINEAGE = "ours"


def _changes(endpoints: int) -> list[Any]:
    text = "endpoint_configs:\n  c: {production_variants: [{variant_name: a, model_name: m, instance_type: ml.m5.large}]}\n"
    text += "endpoints:\n" + "".join(f"  e{i}: {{endpoint_config_name: x}}\n" for i in range(endpoints))
    config = config_mod.load([("smstate.yaml", text)])
    evaluation = evaluate(config, {}, {}, lambda url: None, ".")
    state = State(lineage=LINEAGE, key=StateKey.generate())
    return make_plan(config, evaluation, state, [], Options(Mode.NORMAL)).changes


class Account:
    """Objects by name, with their tags; counts the calls a check makes."""

    def __init__(self, objects: dict[str, dict[str, str]]) -> None:
        self.objects = objects
        self.calls: Counter[str] = Counter()

    def read(self, kind: Kind, object_id: str) -> Live | None:
        self.calls[kind.describe] += 1
        tags = self.objects.get(object_id)
        return None if tags is None else Live(object_id, f"arn:{object_id}", {}, tags)

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        self.calls["List"] += 1
        return [(name, f"arn:{name}") for name in self.objects]

    def tags_of(self, arn: str) -> dict[str, str]:
        self.calls["ListTags"] += 1
        return self.objects[arn.removeprefix("arn:")]


def test_a_few_names_are_described_and_a_hand_made_one_is_refused() -> None:
    account = Account({"e1": {"owner": "them"}, "e0": {"smstate:lineage": LINEAGE, "smstate:address": "endpoints.e0"}})

    with pytest.raises(OwnershipError) as info:
        check_creates(account, _changes(3), LINEAGE, 4)  # type: ignore[arg-type]

    assert str(info.value) == (
        "endpoints.e1: a endpoint named 'e1' already exists and was not created by smstate; "
        "run `smstate import endpoints.e1 e1` to manage it"
    )
    assert account.calls == Counter({"DescribeEndpoint": 3, "DescribeEndpointConfig": 1})


def test_many_names_take_one_list_pass_and_tags_only_for_those_that_exist() -> None:
    account = Account({"e7": {"smstate:lineage": "theirs", "smstate:address": "endpoints.e7"}, "other": {}})

    with pytest.raises(OwnershipError, match=r"^endpoints.e7: .*belongs to another state \(lineage theirs\)"):
        check_creates(account, _changes(LIST_FROM + 5), LINEAGE, 4)  # type: ignore[arg-type]

    assert account.calls == Counter({"List": 1, "ListTags": 1, "DescribeEndpointConfig": 1})


def test_objects_this_state_made_are_left_for_apply_to_adopt() -> None:
    account = Account({f"e{i}": {"smstate:lineage": LINEAGE, "smstate:address": f"endpoints.e{i}"} for i in range(3)})

    check_creates(account, _changes(3), LINEAGE, 4)  # type: ignore[arg-type]

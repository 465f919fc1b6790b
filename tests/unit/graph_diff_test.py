"""Graph order, cycles, DOT; attribute diffs and ignore_changes patterns."""

from __future__ import annotations

import pytest

from smstate.addresses import Address
from smstate.diff import diff, ignored
from smstate.graph import CycleError, Graph

M, C, E = Address("models", "m"), Address("endpoint_configs", "c"), Address("endpoints", "e")


def test_order_puts_dependencies_first() -> None:
    assert Graph({E: {C}, C: {M}, M: set()}).order() == [M, C, E]


def test_cycle_names_its_members() -> None:
    with pytest.raises(CycleError) as info:
        Graph({M: {C}, C: {M}}).order()
    assert set(info.value.cycle) == {M, C}


def test_dot() -> None:
    assert '"endpoints.e" -> "endpoint_configs.c";' in Graph({E: {C}, C: set()}).to_dot()


def test_diff_paths() -> None:
    items = diff({"a": {"b": [1, 2]}, "gone": 1}, {"a": {"b": [1, 3]}, "new": 2})
    assert [(i.path, i.before, i.after) for i in items] == [("a.b[1]", 2, 3), ("gone", 1, None), ("new", None, 2)]
    assert diff({"x": 1}, {"x": 1}) == []


def test_ignore_patterns() -> None:
    rules = ["production_variants[*].current_instance_count", "tags"]
    assert ignored("production_variants[3].current_instance_count", rules)
    assert ignored("tags.team", rules)
    assert not ignored("production_variants[0].current_weight", rules)
    assert not ignored("tagsx", rules)
    assert ignored("anything", "all")

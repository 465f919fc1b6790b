"""Sensitive values of every type: marked deep, followed through references, hidden whole."""

from __future__ import annotations

import pytest

from smstate import config as config_mod
from smstate import variables
from smstate.errors import ConfigError
from smstate.hashing import StateKey
from smstate.references import Ref, dig, resolve
from smstate.render import shown
from smstate.state import redact
from smstate.values import Secret, SecretDict, SecretFloat, SecretInt, SecretList, is_secret, mark

KEY = StateKey(b"values-test-key-0123456789")


def test_a_mark_reaches_every_element_but_bools() -> None:
    marked = mark({"a": [1, "x", 1.5, True], "b": None})
    assert isinstance(marked, SecretDict) and isinstance(marked["a"], SecretList)
    assert [type(v) for v in marked["a"]] == [SecretInt, Secret, SecretFloat, bool]
    assert marked == {"a": [1, "x", 1.5, True], "b": None}  # the API sees the plain value


def test_references_and_interpolation_keep_the_mark() -> None:
    values = {"m": mark({"k": "v", "n": 7}), "l": mark(["a", "b"]), "n": mark(42)}

    def lookup(ref: Ref) -> object:
        return dig(values[ref.name], ref.attr, ref)

    assert is_secret(resolve("${var.m}", lookup)) and is_secret(resolve("${var.m.n}", lookup))
    assert is_secret(resolve("${var.l.1}", lookup)) and is_secret(resolve("${var.n}", lookup))
    joined = resolve("x-${var.n}-${var.m.k}", lookup)
    assert joined == "x-42-v" and is_secret(joined)
    assert shown(resolve({"a": "${var.m}", "b": ["${var.l.0}", "plain"]}, lookup)) == {"a": "(sensitive)", "b": ["(sensitive)", "plain"]}


def test_a_sensitive_map_is_stored_as_one_keyed_hash() -> None:
    stored = redact({"environment": mark({"A": "1", "B": True})}, KEY)
    assert isinstance(stored["environment"], str) and stored["environment"].startswith("(sensitive:")
    assert redact(mark(3), KEY) == redact(mark(3.0), KEY)  # as the API returns a number, or as it was given
    assert redact(mark(3), KEY) != redact(mark(3), StateKey(b"another-key-0123456789"))


def test_a_bool_cannot_be_sensitive() -> None:
    config = config_mod.load([("smstate.yaml", "variables:\n  flag: {type: bool, sensitive: true, default: true}\n")])
    with pytest.raises(ConfigError, match="variables.flag: a bool cannot be sensitive"):
        variables.resolve(config, {}, [], {})

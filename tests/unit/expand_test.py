"""Expansion of for_each blocks and modules, from data files (expand_cases/*.yaml)."""

from __future__ import annotations

import fnmatch
import posixpath
from pathlib import Path
from typing import Any

import pytest
import yaml

from smstate import config as config_mod
from smstate.addresses import Address
from smstate.blocks import DataDecl
from smstate.errors import ConfigError
from smstate.evaluate import evaluate
from smstate.expand import expand

CASES = [c for f in sorted((Path(__file__).parent / "expand_cases").glob("*.yaml")) for c in yaml.safe_load(f.read_text())["cases"]]


def expanded(case: dict[str, Any]) -> Any:
    files: dict[str, str] = case["files"]

    def module_files(source: str) -> list[tuple[str, str]]:
        found = [(n, t) for n, t in files.items() if posixpath.dirname(n) == source]
        if not found:
            raise LookupError(f"no directory {source}")
        return found

    def read(decl: DataDecl, arguments: dict[str, Any], provider: str | None) -> dict[str, Any]:
        return dict(case["data"][f"{decl.type}.{decl.name}"])

    root = config_mod.load([("smstate.yaml", files["smstate.yaml"])])
    variables = {**{n: v.default for n, v in root.variables.items() if "default" in v.model_fields_set}, **case.get("vars", {})}
    flat = expand(root, variables, module_files, read if "data" in case else None)
    return flat, evaluate(flat, variables, {}, lambda url: "0" * 64)


def matches(expected: Any, actual: Any) -> bool:
    """`expected` is a part of `actual`; a string ending in `-*` matches any hash."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(matches, expected, actual))
    if isinstance(expected, str) and expected.endswith("-*"):
        return isinstance(actual, str) and fnmatch.fnmatchcase(actual, expected[:-1] + "[0-9a-f]" * 8)
    return bool(expected == actual)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_expansion(case: dict[str, Any]) -> None:
    if "errors" in case:
        with pytest.raises(ConfigError) as caught:
            expanded(case)
        assert [str(d) for d in caught.value.diagnostics] == case["errors"]
        return
    flat, evaluation = expanded(case)
    for address_text, expected in case["expect"].items():
        address = Address.parse(address_text)
        assert address in evaluation.desired, sorted(map(str, evaluation.desired))
        desired = evaluation.desired[address]
        wanted = dict(expected)
        name = wanted.pop("name", None)
        if "provider" in wanted:
            assert desired.provider == wanted.pop("provider")
        assert matches(wanted, desired.spec), desired.spec
        if name is not None:
            assert matches(name, desired.physical_name), desired.physical_name
    if "count" in case:
        assert len(evaluation.desired) == case["count"]
    if "outputs" in case:
        assert evaluation.outputs == case["outputs"]

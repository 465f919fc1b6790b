"""Rewriting references while blocks are expanded: `each`, module variables and outputs,
data source results, and addresses given their module path.

A `Scope` says what each name means inside one block instance; `rewrite` replaces what
the scope knows and leaves every other reference for evaluation (evaluate.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .addresses import Address, instance
from .references import REF_RE, Ref, RefError, parse_ref
from .values import Unknown, like

_WHOLE_RE = re.compile(r"^\$\{([^}]*)\}$")


@dataclass(frozen=True)
class Literal:
    """A value known at expansion (a variable's, a key's, a data source's): never read as references."""

    value: Any


@dataclass
class Scope:
    """What names mean inside one module instance (the root: `module` empty, `inputs` None)."""

    module: tuple[str, ...] = ()
    inputs: dict[str, Any] | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    declared: dict[str, Any] = field(default_factory=dict)
    """`TYPE.NAME` -> its for_each (None when it has none), for the blocks of this scope."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """`NAME` or `NAME["KEY"]` -> that module instance's outputs, rewritten to the root's terms."""
    data: dict[str, Any] = field(default_factory=dict)
    """`TYPE.NAME` -> what the data source read; None until it is read (known at plan)."""
    each: tuple[str, Any] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    """The root's variable values: what makes a for_each known at expansion."""
    deferred: set[str] = field(default_factory=set)
    """Blocks (`TYPE.NAME`) and modules (`NAME`) whose for_each waits on a data source not read yet:
    references to them are known at plan."""
    used: set[str] = field(default_factory=set)
    """The data sources (`data.TYPE.NAME` with the module path) whose results were put in."""

    def data_key(self, key: str) -> str:
        return "".join(f"module.{m}." for m in self.module) + f"data.{key}"

    def address(self, address: Address) -> Address:
        return Address(address.type, address.name, address.key, self.module + address.module)


def rewrite(value: Any, scope: Scope) -> Any:
    """`value` with every reference the scope knows replaced (raises RefError)."""
    if isinstance(value, str):
        return _string(value, scope)
    if isinstance(value, dict):
        return {k: rewrite(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, scope) for v in value]
    return value


def _string(text: str, scope: Scope) -> Any:
    whole = _WHOLE_RE.match(text)
    if whole:
        found = _replacement(whole.group(1), scope)
        return _escaped(found.value) if isinstance(found, Literal) else found
    if "${" not in text:
        return text
    unknown: list[Unknown] = []

    def sub(match: re.Match[str]) -> str:
        found = _replacement(match.group(1), scope)
        plain = found.value if isinstance(found, Literal) else found
        if isinstance(plain, Unknown):
            unknown.append(plain)
            return ""
        if isinstance(plain, (dict, list)):
            raise RefError(f"${{{match.group(1)}}} is a {'map' if isinstance(plain, dict) else 'list'} and cannot be part of a string")
        text_value = str(plain).lower() if isinstance(plain, bool) else str(plain)
        return _escaped(text_value) if isinstance(found, Literal) else text_value

    out = REF_RE.sub(sub, text)
    return unknown[0] if unknown else out


def _replacement(text: str, scope: Scope) -> Any:
    if scope.each is not None:
        text = text.replace("[each.key]", f'["{scope.each[0]}"]')
    ref = parse_ref(text)
    handler = _HANDLERS.get(ref.sort)
    return handler(ref, scope) if handler else "${" + text + "}"


def _each(ref: Ref, scope: Scope) -> Any:
    if scope.each is None:
        raise RefError(f"${{{ref.text}}}: each is only known inside a block with for_each")
    key, value = scope.each
    return Literal(key) if ref.name == "key" else Literal(_dig(value, ref.attr, ref))


def _var(ref: Ref, scope: Scope) -> Any:
    if scope.inputs is None:
        return "${" + ref.text + "}"
    if ref.name not in scope.inputs:
        raise RefError(f"${{{ref.text}}}: undeclared variable {ref.name!r}")
    return _dig(scope.inputs[ref.name], ref.attr, ref)


def _value(ref: Ref, scope: Scope) -> Any:
    if not scope.module:
        return "${" + ref.text + "}"
    values = scope.values.get(ref.head, {})
    if ref.name not in values:
        raise RefError(f"${{{ref.text}}}: undeclared {ref.head} {ref.name!r}")
    return _dig(rewrite(values[ref.name], scope), ref.attr, ref)


def _resource(ref: Ref, scope: Scope) -> Any:
    target = ref.target
    assert target is not None
    if not target.module:
        block = f"{target.type}.{target.name}"
        if block in scope.deferred:
            return Unknown(ref.text)
        if block not in scope.declared:
            raise RefError(f"${{{ref.text}}}: undeclared resource {block}")
        if (scope.declared[block] is None) != (not target.key):
            need = "takes no key: it has no for_each" if not scope.declared[block] else 'needs a key: it has for_each (TYPE.NAME["KEY"])'
            raise RefError(f"${{{ref.text}}}: {block} {need}")
    return "${" + ".".join((str(scope.address(target)), *ref.attr)) + "}"


def _module(ref: Ref, scope: Scope) -> Any:
    if ref.head.partition("[")[0] in scope.deferred:
        return Unknown(ref.text)
    if ref.head not in scope.outputs:
        raise RefError(f"${{{ref.text}}}: undeclared module {ref.head!r}")
    outputs = scope.outputs[ref.head]
    if ref.name not in outputs:
        raise RefError(f"${{{ref.text}}}: module {ref.head!r} has no output {ref.name!r}")
    return _dig(outputs[ref.name], ref.attr, ref)


def _data(ref: Ref, scope: Scope) -> Any:
    key = f"{ref.head}.{ref.name}"
    if key not in scope.data:
        raise RefError(f"${{{ref.text}}}: undeclared data source data.{key}")
    found = scope.data[key]
    if found is None:  # not read yet: known at plan
        return "${data." + ".".join((ref.head, instance(ref.name), *ref.attr)) + "}"
    scope.used.add(scope.data_key(key))
    return Literal(_dig(found, ref.attr, ref))


_HANDLERS: dict[str, Callable[[Ref, Scope], Any]] = {
    "each": _each, "var": _var, "value": _value, "resource": _resource, "module": _module, "data": _data,
}


def _dig(value: Any, attr: tuple[str, ...], ref: Ref) -> Any:
    """`.a.b` below a value; below a reference that is not known yet, a longer reference."""
    if not attr:
        return value
    if isinstance(value, str) and _WHOLE_RE.match(value):
        return value[:-1] + "." + ".".join(attr) + "}"
    if isinstance(value, dict) and attr[0] in value:
        return _dig(value[attr[0]], attr[1:], ref)
    if isinstance(value, list) and attr[0].isdigit() and int(attr[0]) < len(value):
        return _dig(value[int(attr[0])], attr[1:], ref)
    raise RefError(f"${{{ref.text}}}: no attribute {attr[0]!r}")


def _escaped(value: Any) -> Any:
    """A literal's text keeps any `${` it holds as text."""
    if isinstance(value, str):
        return like(value, value.replace("${", "$${")) if "${" in value else value
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value

"""References: `${TYPE.NAME.ATTR}`, `${vpc_configs.NAME}` and `${var.NAME}` inside strings.

An address may carry an instance key and a module path (`${module.a.models.m["k"].name}`);
`${each.key}`, `${each.value}`, `${module.NAME.OUTPUT}` and `${data.TYPE.NAME.ATTR}` are
replaced when blocks are expanded (expand.py), before references are resolved.

A string that is exactly one reference takes the referenced value's type (a map, a list,
a number); a reference inside a longer string is interpolated as text. `$${` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .addresses import RESOURCE_TYPES, VALUE_TYPES, Address
from .values import Secret, Unknown, is_secret

REF_RE = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_WHOLE_RE = re.compile(r"^\$\{([^}]*)\}$")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: `var.x`, `vpc_configs.private`, or `models.churn.name`."""

    text: str
    sort: str  # "var" | "value" | "resource" | "data" | "each" | "module"
    head: str
    name: str
    attr: tuple[str, ...] = ()
    target: Address | None = None

    @property
    def address(self) -> Address | None:
        return self.target if self.sort == "resource" else None


class RefError(ValueError):
    """A reference that cannot be parsed."""


def parse_ref(text: str) -> Ref:
    address, rest = Address.parse_prefix(text.strip())
    if address is not None and rest.startswith(".") and all(rest[1:].split(".")):
        return Ref(text, "resource", address.type, address.name, tuple(rest[1:].split(".")), address)
    parts = text.strip().split(".")
    if len(parts) >= 2 and parts[0] == "var" and parts[1]:
        return Ref(text, "var", "var", parts[1], tuple(parts[2:]))
    if len(parts) >= 2 and parts[0] in VALUE_TYPES and parts[1]:
        return Ref(text, "value", parts[0], parts[1], tuple(parts[2:]))
    if len(parts) >= 3 and parts[0] == "data" and parts[1] in RESOURCE_TYPES and all(parts[2:]):
        return Ref(text, "data", parts[1], parts[2], tuple(parts[3:]))
    if len(parts) >= 2 and parts[0] == "each" and parts[1] in ("key", "value") and all(parts[2:]):
        return Ref(text, "each", "each", parts[1], tuple(parts[2:]))
    if len(parts) >= 3 and parts[0] == "module" and all(parts[1:]):
        return Ref(text, "module", parts[1], parts[2], tuple(parts[3:]))
    raise RefError(
        f"invalid reference ${{{text}}}: expected ${{var.NAME}}, ${{vpc_configs.NAME}}, ${{TYPE.NAME.ATTR}}, "
        f"${{data.TYPE.NAME.ATTR}}, ${{module.NAME.OUTPUT}} or ${{each.key}}"
    )


def unexpanded(ref: Ref) -> Any:
    """A reference left after expansion: a data source not read yet is known at plan; `each`
    outside a for_each and an undeclared module are errors."""
    if ref.sort == "data":
        return Unknown(ref.text)
    if ref.sort == "each":
        raise RefError(f"${{{ref.text}}}: each is only known inside a block with for_each")
    raise RefError(f"${{{ref.text}}}: undeclared module {ref.head!r}")


def find(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every reference text in a value, with the key path where it appears."""
    if isinstance(value, str):
        for match in REF_RE.finditer(value):
            yield path, match.group(1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from find(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from find(item, path + (i,))


Lookup = Callable[[Ref], Any]


def resolve(value: Any, lookup: Lookup) -> Any:
    """Replace every reference using `lookup`; unknown parts make the string unknown."""
    if isinstance(value, str):
        return _resolve_string(value, lookup)
    if isinstance(value, dict):
        return {key: resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, lookup) for item in value]
    return value


def _resolve_string(text: str, lookup: Lookup) -> Any:
    whole = _WHOLE_RE.match(text)
    if whole:
        return lookup(parse_ref(whole.group(1)))
    if "${" not in text:
        return text
    unknown: list[Unknown] = []
    secret = False

    def sub(match: re.Match[str]) -> str:
        nonlocal secret
        found = lookup(parse_ref(match.group(1)))
        secret = secret or is_secret(found)
        if isinstance(found, Unknown):
            unknown.append(found)
            return match.group(0)
        if isinstance(found, (dict, list)):
            written = "map" if isinstance(found, dict) else "list"  # the type a user wrote, not SecretList or SecretDict
            raise RefError(f"${{{match.group(1)}}} is a {written} and cannot be part of a string")
        text = str(found).lower() if isinstance(found, bool) else str(found)
        return text.replace("${", "$${")

    out = REF_RE.sub(sub, text)
    if unknown:
        return Unknown(unknown[0].ref, out, secret)
    out = out.replace("$${", "${")
    return Secret(out) if secret else out


def dig(value: Any, attr: tuple[str, ...], ref: Ref) -> Any:
    """Follow `.a.b` below a referenced value."""
    for part in attr:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise RefError(f"${{{ref.text}}}: no attribute {part!r}")
    return value

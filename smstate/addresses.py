"""Addresses: `TYPE.NAME`, with an instance key (`models.m["churn"]`) and a module path
(`module.checkout.endpoints.main`), the same in config, state, plan, output and error messages."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from .errors import SmstateError

RESOURCE_TYPES = (
    "models", "endpoint_configs", "endpoints", "model_package_groups", "model_packages", "inference_components",
    "alarms", "scaling",
)
VALUE_TYPES = ("vpc_configs",)
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")
KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
"""Instance keys: they become part of physical names, so letters, digits, `_`, `.` and `-`."""

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?"
_KEY = r'\["([A-Za-z0-9_.-]+)"\]'
_MODULE_RE = re.compile(rf"module\.({_NAME})(?:{_KEY})?\.")
_RESOURCE_RE = re.compile(rf"({'|'.join(RESOURCE_TYPES)})\.({_NAME})(?:{_KEY})?")
MAX_LABEL = 63


def instance(name: str, key: str = "") -> str:
    """`name` or `name["key"]`: one segment of an address."""
    return f'{name}["{key}"]' if key else name


@functools.total_ordering
@dataclass(frozen=True)
class Address:
    """A resource address such as `models.churn`, `models.m["churn"]` or `module.checkout.models.main`.

    `module` holds the module instances the resource is declared in, outermost first, each
    as `NAME` or `NAME["KEY"]`.
    """

    type: str
    name: str
    key: str = ""
    module: tuple[str, ...] = ()

    def __lt__(self, other: Address) -> bool:
        """Root resources first, then each module's together; within one, by type, name and key."""
        return (self.module, self.type, self.name, self.key) < (other.module, other.type, other.name, other.key)

    def __str__(self) -> str:
        return "".join(f"module.{m}." for m in self.module) + f"{self.type}.{instance(self.name, self.key)}"

    @property
    def block(self) -> Address:
        """The address of the block that declares this instance."""
        return Address(self.type, self.name, "", self.module)

    @property
    def label(self) -> str:
        """The base of a physical name: module path, name and key joined by `-` (`checkout-m-churn`),
        within SageMaker's 63 characters; a longer one is cut and ends with a hash of the whole."""
        parts = [_segment_label(m) for m in self.module] + [self.name] + ([self.key] if self.key else [])
        text = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", "-".join(parts))).strip("-")
        if len(text) <= MAX_LABEL:
            return text
        return text[: MAX_LABEL - 9].rstrip("-") + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]

    @classmethod
    def parse(cls, text: str) -> Address:
        found, rest = cls.parse_prefix(text.strip())
        if found is None or rest:
            raise SmstateError(
                f"invalid address {text!r}: expected TYPE.NAME, TYPE.NAME[\"KEY\"] or module.NAME.TYPE.NAME, "
                f"with TYPE one of {', '.join(RESOURCE_TYPES)}"
            )
        return found

    @classmethod
    def parse_prefix(cls, text: str) -> tuple[Address | None, str]:
        """The address at the start of `text` and what follows it; (None, text) when there is none."""
        modules: list[str] = []
        pos = 0
        while match := _MODULE_RE.match(text, pos):
            modules.append(instance(match.group(1), match.group(2) or ""))
            pos = match.end()
        match = _RESOURCE_RE.match(text, pos)
        if match is None:
            return None, text
        return cls(match.group(1), match.group(2), match.group(3) or "", tuple(modules)), text[match.end():]


def tag_value(address: str) -> str:
    """The address as the `smstate:address` tag holds it: tag values allow no quotes or brackets,
    so `models.m["churn"]` is tagged `models.m/churn` (an address without keys is unchanged)."""
    return address.replace('["', "/").replace('"]', "")


def _segment_label(segment: str) -> str:
    name, _, key = segment.partition('["')
    return f"{name}-{key[:-2]}" if key else name

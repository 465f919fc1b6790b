"""Addresses: `TYPE.NAME`, the same in config, state, plan, output and error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SmstateError

RESOURCE_TYPES = (
    "models", "endpoint_configs", "endpoints", "model_package_groups", "model_packages", "inference_components",
    "alarms", "scaling",
)
VALUE_TYPES = ("vpc_configs",)
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, order=True)
class Address:
    """A resource address such as `models.churn`."""

    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type}.{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, _, name = text.partition(".")
        if kind not in RESOURCE_TYPES or not name or "." in name:
            raise SmstateError(
                f"invalid address {text!r}: expected TYPE.NAME with TYPE one of {', '.join(RESOURCE_TYPES)}"
            )
        return cls(kind, name)

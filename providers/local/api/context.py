"""What a control-plane operation works with, and the shape of a handler."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from providers.local import arns
from providers.local.lifecycle import Endpoints
from providers.local.registry import Registry

Params = dict[str, Any]
Response = dict[str, Any]


@dataclass
class Context:
    """One request's view of the server: the registry, the live endpoints, and
    the region the client signed for (which goes into new ARNs)."""

    registry: Registry
    endpoints: Endpoints
    region: str
    now: float = field(default_factory=time.time)

    def arn(self, kind: str, name: str) -> str:
        return arns.arn(self.region, kind, name)


Handler = Callable[[Context, Params], Awaitable[Response]]


def tag_list(params: Params) -> list[dict[str, str]]:
    """The request's Tags, one per key (a repeated key keeps its last value)."""
    merged: dict[str, str] = {}
    for tag in params.get("Tags") or []:
        merged[tag["Key"]] = tag.get("Value", "")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def present(params: Params, *members: str) -> dict[str, Any]:
    """The given request members that are set, for echoing into a Describe."""
    return {m: params[m] for m in members if params.get(m) is not None}

"""What a control-plane operation works with, and the shape of a handler."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from providers.local import arns, listing
from providers.local.errors import validation
from providers.local.lifecycle import Endpoints
from providers.local.registry import Registry, Table, key_of

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

    def arn(self, resource_type: str, name: str) -> str:
        return arns.arn(self.region, resource_type, name)


Handler = Callable[[Context, Params], Awaitable[Response]]
Missing = Callable[[Context, str], Exception]
"""The not-found error of one table's objects, worded as SageMaker words it for them."""


def stored(ctx: Context, table: Table, name: str, missing: Missing) -> dict[str, Any]:
    """The registry's record of `name`, or the table's not-found error."""
    record = ctx.registry.get(table, key_of(name))
    if record is None:
        raise missing(ctx, name)
    return record


def new_arn(ctx: Context, table: Table, name: str, noun: str) -> str:
    """The ARN a new object of `name` gets; refused, as SageMaker does, while one of that name exists."""
    arn = ctx.arn(table.value, name)
    if ctx.registry.get(table, key_of(name)) is not None:
        raise validation(f'Cannot create already existing {noun} "{arn}".')
    return arn


def readers(table: Table, name_member: str, arn_member: str, list_field: str, missing: Missing) -> tuple[Handler, Handler]:
    """Describe and List of a table whose objects are stored whole and listed by name, ARN and time."""

    async def describe(ctx: Context, params: Params) -> Response:
        return dict(stored(ctx, table, params[name_member], missing)["describe"])

    async def list_all(ctx: Context, params: Params) -> Response:
        fields = (name_member, arn_member, "CreationTime")
        found = ({k: r["describe"][k] for k in fields} for r in ctx.registry.values(table))
        return listing.page(params, found, name_member, list_field)

    return describe, list_all


def tag_list(params: Params) -> list[dict[str, str]]:
    """The request's Tags, one per key (a repeated key keeps its last value)."""
    merged: dict[str, str] = {}
    for tag in params.get("Tags") or []:
        merged[tag["Key"]] = tag.get("Value", "")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def present(params: Params, *members: str) -> dict[str, Any]:
    """The given request members that are set, for echoing into a Describe."""
    return {m: params[m] for m in members if params.get(m) is not None}

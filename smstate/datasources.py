"""Data sources: existing objects read at plan time, so a config can follow what others publish.

`data.model_packages.X: {model_package_group_name, model_approval_status}` is the newest
version of the group with that status (the kind's `lookup` trait); any kind is also read by
`name`. A new approved version then changes the model that references it: registry
approval becomes a plan with changes, with no script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore import xform_name

from . import shapes
from .blocks import DataDecl
from .errors import SmstateError
from .expand import DataRead
from .provider import Provider
from .resources import KINDS, Kind


def reader(providers: Mapping[str | None, Provider]) -> DataRead:
    """Reads each data source through its provider (None: the default one)."""

    def read(decl: DataDecl, arguments: dict[str, Any], provider: str | None) -> dict[str, Any]:
        where = f"data.{decl.type}.{decl.name}"
        if provider not in providers:
            raise SmstateError(f"{where}: no provider named {provider!r}")
        kind = KINDS[decl.type]
        target = providers[provider]
        object_id = _find(kind, target, arguments, where)
        live = target.read(kind, object_id)
        if live is None:
            raise SmstateError(f"{where}: {object_id!r} does not exist")
        found = shapes.from_response(kind.create_shape, live.description) or {}
        return {**found, "name": live.physical_name, "arn": live.arn, "version": live.version}

    return read


def _find(kind: Kind, provider: Provider, arguments: dict[str, Any], where: str) -> str:
    """The id of the object the arguments pick."""
    if kind.lookup is None or set(arguments) == {"name"}:
        name = arguments.get("name")
        if set(arguments) != {"name"} or not isinstance(name, str):
            raise SmstateError(f"{where}: expected `name:` (the name of the object to read)")
        return name
    lookup = kind.lookup
    members = shapes.input_shape(lookup.operation).members
    accepted = {xform_name(m): m for m in members if m not in dict(lookup.fixed) and m not in ("MaxResults", "NextToken")}
    unknown = sorted(set(arguments) - set(accepted))
    missing = [a for a in lookup.required if a not in arguments]
    if unknown or missing:
        problem = f"unknown argument {unknown[0]!r}" if unknown else f"{missing[0]}: field required"
        raise SmstateError(f"{where}: {problem} (accepted: {', '.join(sorted(accepted))}, or name)")
    params = {accepted[k]: v for k, v in arguments.items()}
    problems = shapes.validate(shapes.input_shape(lookup.operation), arguments)
    if problems:
        path, message = problems[0]
        raise SmstateError(f"{where}: {'.'.join(map(str, path))}: {message}")
    arn = provider.first_listed(kind, {**params, **dict(lookup.fixed)})
    if arn is None:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(arguments.items()))
        raise SmstateError(f"{where}: no {kind.state_type.replace('_', ' ')} matches {shown}")
    return arn


def data_arguments(kind: Kind) -> dict[str, Any]:
    """The JSON Schema of a data source's arguments: `name`, or the kind's lookup's List filters."""
    by_name = {"type": "object", "required": ["name"], "additionalProperties": False,
               "properties": {"name": {"type": "string"}, "provider": {"type": "string"}}}
    if kind.lookup is None:
        return by_name
    shape = shapes.input_shape(kind.lookup.operation)
    fixed = dict(kind.lookup.fixed)
    props = {xform_name(m): shapes.json_schema(s) for m, s in shape.members.items() if m not in fixed and m not in ("MaxResults", "NextToken")}
    props["provider"] = {"type": "string"}
    lookup = {"type": "object", "properties": props, "additionalProperties": False, "required": list(kind.lookup.required)}
    return {"anyOf": [by_name, lookup]}

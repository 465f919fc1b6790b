"""The config sections that make many objects from few blocks: modules, data sources, moved.

`modules:` calls a directory holding its own config; `data:` reads existing objects at
plan time; `moved:` re-addresses state entries (a renamed block or key is then no
replacement). They are collected here as written; expand.py turns them into resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .addresses import NAME_RE, RESOURCE_TYPES, Address
from .errors import Diagnostic, SmstateError
from .yamlsrc import Path_, Source, dotted

BLOCK_SECTIONS = ("providers", "modules", "data", "moved")


class _ModuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="A directory holding the module's smstate.yaml, relative to this file's")
    inputs: dict[str, Any] = Field(default_factory=dict)
    for_each: Any = None
    provider: str | None = None


@dataclass(frozen=True)
class ModuleCall:
    """A `modules:` entry: the directory to read, the values of its variables, where it was written."""

    name: str
    source: str
    inputs: dict[str, Any]
    for_each: Any
    provider: str | None
    file: str


@dataclass(frozen=True)
class DataDecl:
    """A `data:` entry: an existing object read at plan time, by name or (model packages) by group."""

    type: str
    name: str
    body: dict[str, Any]
    file: str


@dataclass
class Blocks:
    providers: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, ModuleCall] = field(default_factory=dict)
    data: dict[str, DataDecl] = field(default_factory=dict)
    """By `TYPE.NAME`."""
    moved: list[tuple[Address, Address]] = field(default_factory=list)
    read: dict[str, Any] = field(default_factory=dict)
    """Once expanded: `data.TYPE.NAME` (with its module path) -> the ARN (or name) the data source read."""
    uses: dict[Address, frozenset[str]] = field(default_factory=dict)
    """Once expanded: the data sources whose results each resource's spec holds."""


def merge_block(blocks: Blocks, source: Source, section: str, key: str, value: Any, problems: list[Diagnostic]) -> None:
    """One entry of `modules:` or `data:` (providers are settings, checked in config.py)."""
    path: Path_ = (section, key)
    if section == "modules":
        if not NAME_RE.match(key):
            problems.append(Diagnostic(source.file, source.line(path), f"modules.{key}", "names use letters, digits, - and _"))
            return
        try:
            body = _ModuleBody.model_validate(value if value is not None else {})
        except ValidationError as exc:
            for err in exc.errors():
                sub = path + tuple(p for p in err["loc"] if isinstance(p, (str, int)))
                message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(Diagnostic(source.file, source.line(sub), dotted(sub), message))
            return
        blocks.modules[key] = ModuleCall(key, body.source, body.inputs, body.for_each, body.provider, source.file)
        return
    if key not in RESOURCE_TYPES:
        problems.append(Diagnostic(source.file, source.line(path), f"data.{key}", f"expected one of {', '.join(RESOURCE_TYPES)}"))
        return
    if not isinstance(value, dict):
        problems.append(Diagnostic(source.file, source.line(path), f"data.{key}", "expected a map"))
        return
    for name, body in value.items():
        where = f"data.{key}.{name}"
        if not NAME_RE.match(str(name)) or not isinstance(body, dict):
            problems.append(Diagnostic(source.file, source.line(path + (name,)), where, "expected NAME: {fields}"))
            continue
        blocks.data[f"{key}.{name}"] = DataDecl(key, str(name), body, source.file)


def merge_moved(blocks: Blocks, source: Source, value: Any, problems: list[Diagnostic]) -> None:
    """`moved: [{from: ADDRESS, to: ADDRESS}]`."""
    if not isinstance(value, list):
        problems.append(Diagnostic(source.file, source.line(("moved",)), "moved", "expected a list of {from, to}"))
        return
    for i, item in enumerate(value):
        path: Path_ = ("moved", i)
        if not isinstance(item, dict) or set(item) != {"from", "to"}:
            problems.append(Diagnostic(source.file, source.line(path), dotted(path), "expected {from: ADDRESS, to: ADDRESS}"))
            continue
        try:
            old, new = Address.parse(str(item["from"])), Address.parse(str(item["to"]))
        except SmstateError as exc:
            problems.append(Diagnostic(source.file, source.line(path), dotted(path), str(exc)))
            continue
        if old.type != new.type:
            problems.append(Diagnostic(source.file, source.line(path), dotted(path), "an object cannot move to another type"))
            continue
        blocks.moved.append((old, new))


FOR_EACH_SCHEMA: dict[str, Any] = {
    "description": "One instance per key: a map, a list of strings, or a ${...} reference to one (a variable, a data source)",
    "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}}, {"type": "string"}],
}


def block_schemas(provider: dict[str, Any], data_kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of the sections here; `provider` is the schema of one provider's settings,
    `data_kinds` the arguments each kind's data sources take."""
    module = _ModuleBody.model_json_schema()
    module["properties"]["for_each"] = FOR_EACH_SCHEMA
    moved = {"type": "object", "required": ["from", "to"], "additionalProperties": False,
             "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}
    return {
        "providers": {"type": "object", "additionalProperties": provider},
        "modules": {"type": "object", "additionalProperties": module},
        "data": {"type": "object", "additionalProperties": False,
                 "properties": {k: {"type": "object", "additionalProperties": v} for k, v in data_kinds.items()}},
        "moved": {"type": "array", "items": moved},
    }

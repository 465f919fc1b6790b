"""YAML documents that remember where each key came from, so errors can name `file:line`."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import yaml

from .errors import ConfigError, Diagnostic

Path_ = tuple[str | int, ...]


@dataclass
class Source:
    """A parsed YAML file: its plain data plus the line of every key path."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader (libyaml's when present) without implicit timestamps: dates stay strings."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; syntax errors and duplicate keys are `ConfigError`s."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = min(mark.line + 1, text.count("\n") + 1) if mark is not None else None  # the end of the text is on its last line
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Diagnostic(file, line, "", f"invalid YAML: {problem}")]) from None
    except RecursionError:
        raise ConfigError([Diagnostic(file, None, "", "invalid YAML: nested too deeply")]) from None
    source = Source(file, None)
    if node is None:
        source.data = {}
        return source
    problems: list[Diagnostic] = []
    source.data = _convert(node, (), source, problems, _Budget(file))
    if problems:
        raise ConfigError(problems)
    return source


MAX_DEPTH = 64
"""Deeper than any SageMaker request; deeper YAML is an attack or an accident."""
MAX_VALUES = 100_000
"""Values in one file once aliases are expanded: an alias of an alias of ... explodes exponentially."""


@dataclass
class _Budget:
    """Bounds the walk over the node graph, which aliases can make cyclic or exponentially large."""

    file: str
    values: int = 0
    open: set[int] = field(default_factory=set)

    def enter(self, node: yaml.Node, path: Path_) -> None:
        self.values += 1
        problem = (
            "an alias refers to the node that contains it" if id(node) in self.open
            else f"nested deeper than {MAX_DEPTH} levels" if len(path) > MAX_DEPTH
            else f"more than {MAX_VALUES} values once aliases are expanded" if self.values > MAX_VALUES
            else None
        )  # fmt: skip
        if problem:
            where = dotted(path[:8]) + ("..." if len(path) > 8 else "")
            raise ConfigError([Diagnostic(self.file, node.start_mark.line + 1, where, f"invalid YAML: {problem}")])


def _convert(node: yaml.Node, path: Path_, source: Source, problems: list[Diagnostic], budget: _Budget) -> Any:
    budget.enter(node, path)
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        budget.open.add(id(node))
        try:
            return _collection(node, path, source, problems, budget)
        finally:
            budget.open.discard(id(node))
    return _scalar(node, path, source, problems)


def _collection(node: yaml.Node, path: Path_, source: Source, problems: list[Diagnostic], budget: _Budget) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line = key_node.start_mark.line + 1
                problems.append(Diagnostic(source.file, line, dotted(path), "keys must be plain strings, not maps or lists"))
                continue
            skey = str(_scalar(key_node, path, source, problems))
            if skey in out:
                problems.append(
                    Diagnostic(source.file, key_node.start_mark.line + 1, dotted(path + (skey,)), "duplicate key")
                )
                continue
            source.lines[path + (skey,)] = key_node.start_mark.line + 1
            out[skey] = _convert(value_node, path + (skey,), source, problems, budget)
        return out
    return [_convert(item, path + (i,), source, problems, budget) for i, item in enumerate(node.value)]


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node, path: Path_, source: Source, problems: list[Diagnostic]) -> Any:
    """The value of a scalar; one whose explicit tag does not fit (`!!int abc`) is a problem."""
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        message = getattr(exc, "problem", None) or str(exc)
        problems.append(Diagnostic(source.file, node.start_mark.line + 1, dotted(path), f"invalid YAML value {node.tag!r}: {message}"))
        return None


def dotted(path: Sequence[Any]) -> str:
    """Render a key path as `a.b[0].c`: in diagnostics, diffs and plans alike."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

"""YAML documents that remember where each key came from, so errors can name `file:line`."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Diagnostic(file, line, "", f"invalid YAML: {problem}")]) from None
    source = Source(file, None)
    if node is None:
        source.data = {}
        return source
    problems: list[Diagnostic] = []
    source.data = _convert(node, (), source, problems)
    if problems:
        raise ConfigError(problems)
    return source


def _convert(node: yaml.Node, path: Path_, source: Source, problems: list[Diagnostic]) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            skey = str(key)
            if skey in out:
                problems.append(
                    Diagnostic(source.file, key_node.start_mark.line + 1, _dotted(path + (skey,)), "duplicate key")
                )
                continue
            source.lines[path + (skey,)] = key_node.start_mark.line + 1
            out[skey] = _convert(value_node, path + (skey,), source, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), source, problems) for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _CONSTRUCTOR.construct_object(node, deep=True)
    return _CONSTRUCTOR.construct_document(node)


def _dotted(path: Path_) -> str:
    """Render a key path as `a.b[0].c`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


dotted = _dotted

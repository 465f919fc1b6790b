"""Attribute diffs between two plain values, with `lifecycle.ignore_changes` filtering."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .values import Unknown
from .yamlsrc import dotted


@dataclass(frozen=True)
class DiffItem:
    """One changed attribute: its path (`production_variants[0].initial_instance_count`) and values."""

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": _plain(self.before), "after": _plain(self.after)}


def _plain(value: Any) -> Any:
    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def diff(before: Any, after: Any) -> list[DiffItem]:
    """Leaf-level differences, computed by deepdiff; empty when the values are equal."""
    if before == after:
        return []
    from deepdiff import DeepDiff

    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    items: list[DiffItem] = []
    for changes in tree.values():
        for level in changes:
            parts = level.path(output_format="list")
            items.append(DiffItem(dotted(parts), _value(level.t1), _value(level.t2)))
    return sorted(items, key=lambda item: item.path)


def _value(value: Any) -> Any:
    from deepdiff.helper import NotPresent

    return None if isinstance(value, NotPresent) else value


def ignored(path: str, patterns: list[str] | str) -> bool:
    """True when `path` is at or below one of the `ignore_changes` patterns (`[*]` is any index)."""
    if patterns == "all":
        return True
    return any(_pattern(p).match(path) for p in patterns)


def _pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text).replace(r"\[\*\]", r"\[\d+\]")
    return re.compile(rf"^{escaped}(?:$|[.\[])")


def without_ignored(items: list[DiffItem], patterns: list[str] | str) -> list[DiffItem]:
    return [item for item in items if not ignored(item.path, patterns)]

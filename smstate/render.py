"""Plans, drift and outcomes as text (Terraform's shape) and as JSON (the stable contract)."""

from __future__ import annotations

import json
from typing import Any

from .changes import Action, Change, Drift, DriftKind, Plan
from .diff import DiffItem
from .values import KNOWN_AFTER_APPLY, SENSITIVE, Unknown, is_secret

_VERBS = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
}
_COLORS = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE: "magenta", Action.DELETE: "red"}


def shown(value: Any) -> Any:
    """A value as users may see it: secrets hidden, unknowns named."""
    if isinstance(value, Unknown):
        return KNOWN_AFTER_APPLY
    if is_secret(value) or (isinstance(value, str) and value.startswith("(sensitive:")):
        return SENSITIVE
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def _fmt(value: Any) -> str:
    value = shown(value)
    if value in (KNOWN_AFTER_APPLY, SENSITIVE):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, default=str)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value:
        return [pair for i, item in enumerate(value) for pair in _flatten(item, f"{prefix}[{i}]")]
    return [(prefix, value)]


def plan_text(plan: Plan) -> str:
    """The human plan: drift first, then each change with its reason, then the summary line."""
    lines: list[str] = []
    if plan.drift:
        lines += ["[bold]Objects have changed outside of smstate[/bold]", ""]
        lines += drift_lines(plan.drift)
        lines.append("")
    if plan.mode.value == "refresh-only":
        lines.append(
            "This is a refresh-only plan: apply it to record the live values above in state."
            if plan.drift
            else "No changes. The state matches the live objects."
        )
        return "\n".join(lines)
    if not plan.changes:
        lines.append("[bold green]No changes.[/bold green] Your infrastructure matches the configuration.")
        return "\n".join(lines)
    if plan.data:
        lines += ["Data sources read that change this plan:"] + [f"  {k}: {v}" for k, v in plan.data.items()] + [""]
    lines += ["smstate will perform the following actions:", ""]
    for change in plan.changes:
        lines += change_lines(change)
        lines.append("")
    summary = plan.summary()
    lines.append(f"[bold]Plan:[/bold] {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy.")
    changed = {k: v for k, v in plan.outputs.items() if shown(v) != plan.prior_outputs.get(k)}
    if changed:
        lines += ["", "Changes to outputs:"] + [f"  {k} = {_fmt(v)}" for k, v in sorted(changed.items())]
    return "\n".join(lines)


def change_lines(change: Change) -> list[str]:
    color = _COLORS[change.action]
    symbol = change.action.symbol
    target = change.deposed or change.prior
    old_name = target.id if target else None
    new_name = change.desired.physical_name if change.desired else None
    verb = _VERBS[change.action]
    if change.action is Action.REPLACE:
        verb += ", delete first" if change.delete_first else ""
    label = f"{change.address}" + (" (deposed)" if change.deposed else "")
    lines = [f"  [bold]# {label}[/bold] {verb} ({change.reason})"]
    names = ""
    if change.action is Action.REPLACE and old_name and new_name and old_name != new_name:
        names = f"  {old_name} -> {_fmt(new_name).strip(chr(34))}"
    elif old_name and change.action is not Action.CREATE:
        names = f"  {old_name}"
    elif isinstance(new_name, (str, Unknown)):
        names = f"  {_fmt(new_name).strip(chr(34))}"
    lines.append(f"[{color}]{symbol:>3}[/{color}] {label}{names}")
    if change.action is Action.CREATE:
        for path, value in _flatten(change.after or {}):
            lines.append(f"      [green]+[/green] {path} = {_fmt(value)}")
    elif change.action is Action.DELETE:
        for path, value in _flatten(change.before or {}):
            lines.append(f"      [red]-[/red] {path} = {_fmt(value)}")
    else:
        lines += [_item_line(item) for item in change.diff]
    return lines


def _item_line(item: DiffItem) -> str:
    if item.before is None:
        return f"      [green]+[/green] {item.path} = {_fmt(item.after)}"
    if item.after is None:
        return f"      [red]-[/red] {item.path} = {_fmt(item.before)}"
    return f"      [yellow]~[/yellow] {item.path}: {_fmt(item.before)} -> {_fmt(item.after)}"


def drift_lines(drift: list[Drift]) -> list[str]:
    lines: list[str] = []
    for item in drift:
        name = f" ({item.physical_name})" if item.physical_name else ""
        if item.kind is DriftKind.DELETED:
            lines.append(f"  [red]-[/red] {item.address}{name} has been deleted")
        elif item.kind is DriftKind.UNMANAGED:
            lines.append(f"  [yellow]?[/yellow] {item.address}{name} carries this state's lineage but is not in state")
        else:
            lines.append(f"  [yellow]~[/yellow] {item.address}{name} has changed")
            lines += [_item_line(d) for d in item.diff]
    return lines


def plan_json(plan: Plan) -> dict[str, Any]:
    changes = []
    for change in plan.changes:
        entry: dict[str, Any] = {
            "address": str(change.address),
            "type": change.type,
            "action": change.action.value,
            "reason": change.reason,
            "before": shown(change.before),
            "after": shown(change.after),
            "diff": [shown(d.to_json()) for d in change.diff],
        }
        if change.deposed:
            entry["deposed"] = change.deposed.id
        if change.action is Action.REPLACE:
            entry["replace_order"] = "delete_before_create" if change.delete_first else "create_before_destroy"
        changes.append(entry)
    return {
        "format_version": 1,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "mode": plan.mode.value,
        "changes": changes,
        "drift": [shown(d.to_json()) for d in plan.drift],
        "summary": plan.summary(),
        "outputs": shown(plan.outputs),
        "data": shown(plan.data),
    }

"""Drift reports: what changed outside smstate, in the formats CI systems read.

The JSON form is a stable contract (documented in the README):
{"format_version": 1, "lineage", "serial", "drift": [{"address", "kind", "type",
 "physical_name", "diff": [{"path", "before", "after"}]}], "summary": {"modified", "deleted", "unmanaged"}}
"""

from __future__ import annotations

import json
from typing import Any

from .changes import Drift, DriftKind
from .render import shown
from .resources import KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG
from .state import State

Found = tuple[str, str, dict[str, str]]
"""(config type, physical id, tags) of an object listed in the account."""


def unmanaged(state: State, found: list[Found]) -> list[Drift]:
    """Objects tagged with this state's lineage that the state does not know: orphans."""
    known = {
        obj_id
        for obj in state.resources.values()
        for obj_id in [obj.id if obj.status != "gone" else "", *(d.id for d in obj.deposed)]
        if obj_id
    }
    known |= {obj.arn for obj in state.resources.values() if obj.arn}
    out = []
    for type_name, object_id, tags in found:
        if tags.get(OWNER_LINEAGE_TAG) == state.lineage and object_id not in known:
            address = tags.get(OWNER_ADDRESS_TAG, f"{type_name}.?")
            out.append(Drift(address, DriftKind.UNMANAGED, KINDS[type_name].state_type, physical_name=object_id))
    return sorted(out, key=lambda d: (d.address, d.physical_name or ""))


def report_json(state: State, drift: list[Drift]) -> dict[str, Any]:
    summary = {k.value: sum(1 for d in drift if d.kind is k) for k in DriftKind}
    return {
        "format_version": 1,
        "lineage": state.lineage,
        "serial": state.serial,
        "drift": [shown(d.to_json()) for d in drift],
        "summary": summary,
    }


def _details(item: Drift) -> str:
    if item.kind is DriftKind.DELETED:
        return "deleted outside smstate"
    if item.kind is DriftKind.UNMANAGED:
        return "carries this state's lineage tag but is not in state (orphan)"
    return "; ".join(f"`{d.path}`: {_fmt(d.before)} → {_fmt(d.after)}" for d in item.diff)


def _fmt(value: Any) -> str:
    return "absent" if value is None else json.dumps(shown(value))


def report_markdown(drift: list[Drift]) -> str:
    if not drift:
        return "### smstate drift\n\nNo drift: every object matches the state.\n"
    lines = [
        "### smstate drift",
        "",
        f"{len(drift)} object(s) drifted.",
        "",
        "| Address | Object | Kind | Details |",
        "|---|---|---|---|",
    ]
    for item in drift:
        details = _details(item).replace("|", "\\|")
        lines.append(f"| `{item.address}` | `{item.physical_name or ''}` | {item.kind.value} | {details} |")
    return "\n".join(lines) + "\n"


def report_github(drift: list[Drift]) -> str:
    """Workflow commands: one `::warning` annotation per drifted object."""
    lines = []
    for item in drift:
        message = f"{item.address} {item.kind.value}: {_details(item).replace('`', '')}"
        lines.append(f"::warning title=smstate drift::{_escape(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

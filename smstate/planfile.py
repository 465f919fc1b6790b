"""Saved plans (`plan --out`): what was planned, against which state, from which config.

A saved plan embeds the config and the variable values it was made from, so `apply FILE` does what
was reviewed even if the files changed since; it is refused when the state moved on
(another lineage or serial) or when the live world no longer gives the same changes.
The file may hold sensitive variable values: it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .changes import Mode, Plan
from .errors import PlanFileError
from .files import read_regular_text
from .render import plan_json

KIND = "smstate-plan"


@dataclass(frozen=True)
class SavedPlan:
    lineage: str
    serial: int
    workspace: str
    mode: Mode
    targets: list[str]
    replace: list[str]
    config_files: list[tuple[str, str]]
    cli_vars: dict[str, str]
    var_files: list[dict[str, Any]]
    changes: list[tuple[str, str]]

    def to_json(self, plan: Plan) -> dict[str, Any]:
        return {
            "kind": KIND,
            "format_version": 1,
            "lineage": self.lineage,
            "serial": self.serial,
            "workspace": self.workspace,
            "mode": self.mode.value,
            "targets": self.targets,
            "replace": self.replace,
            "config_files": [list(f) for f in self.config_files],
            "cli_vars": self.cli_vars,
            "var_files": self.var_files,
            "changes": [list(c) for c in self.changes],
            "plan": plan_json(plan),
        }


def signature(plan: Plan) -> list[tuple[str, str]]:
    return [(str(c.address) + (f"#{c.deposed.id}" if c.deposed else ""), c.action.value) for c in plan.changes]


def check_writable(path: Path) -> None:
    """Refuse, before planning, a plan file that could not be written: a directory, or a missing parent."""
    if path.is_dir():
        raise PlanFileError(f"cannot write the plan to {path}: it is a directory")
    if not path.parent.is_dir():
        raise PlanFileError(f"cannot write the plan to {path}: no directory {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise PlanFileError(f"cannot write the plan to {path}: {path.parent} is not writable")


def write(path: Path, saved: SavedPlan, plan: Plan) -> None:
    data = json.dumps(saved.to_json(plan), indent=1).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise PlanFileError(f"cannot write the plan to {path}: {exc.strerror}") from None


def read(path: Path) -> SavedPlan:
    try:
        data = json.loads(read_regular_text(path))
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PlanFileError(f"{path} is not a plan file saved by `smstate plan --out`") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise PlanFileError(f"{path} is not a plan file saved by `smstate plan --out`")
    if data.get("format_version") != 1:
        raise PlanFileError(f"{path} has an unsupported format_version {data.get('format_version')!r}")
    try:
        return SavedPlan(
            lineage=str(data["lineage"]),
            serial=int(data["serial"]),
            workspace=str(data["workspace"]),
            mode=Mode(data["mode"]),
            targets=[str(t) for t in data["targets"]],
            replace=[str(r) for r in data["replace"]],
            config_files=[(str(n), str(t)) for n, t in data["config_files"]],
            cli_vars={str(k): str(v) for k, v in data["cli_vars"].items()},
            var_files=[dict(f) for f in data["var_files"]],
            changes=[(str(a), str(b)) for a, b in data["changes"]],
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PlanFileError(f"{path} is a damaged plan file") from None

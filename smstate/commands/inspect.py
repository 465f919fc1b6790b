"""Commands that read or edit the state without planning: state, output, graph, schema, workspace."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..addresses import Address
from ..config import Config, ProviderSettings
from ..errors import SmstateError
from ..evaluate import build_graph
from ..pipeline import Inputs, load, locked, read_state
from ..render import shown
from ..statekey import KeyedBackend
from ..workspace import Workspace
from .run import out


def _backend(inputs: Inputs) -> tuple[Workspace, KeyedBackend, Config | None]:
    workspace = Workspace(inputs.chdir)
    try:
        from .. import config as config_mod

        config: Config | None = config_mod.load(workspace.config_files())
    except SmstateError:
        config = None
    return workspace, workspace.backend(config), config


def state_list(inputs: Inputs) -> int:
    _, backend, _ = _backend(inputs)
    state = backend.read()
    for address, obj in sorted((state.resources if state else {}).items()):
        if obj.status != "gone":
            out.print(address)
        for deposed in obj.deposed:
            out.print(f"{address} (deposed {deposed.id})")
    return 0


def state_show(inputs: Inputs, address: str) -> int:
    address = str(Address.parse(address))
    _, backend, _ = _backend(inputs)
    state = backend.read()
    if state is None or address not in state.resources:
        raise SmstateError(f"{address} is not in the state")
    sys.stdout.write(json.dumps(shown(state.resources[address].to_json()), indent=2) + "\n")
    return 0


def state_rm(inputs: Inputs, addresses: list[str]) -> int:
    addresses = [str(Address.parse(address)) for address in addresses]
    _, backend, _ = _backend(inputs)
    with locked(backend, "state rm", inputs.lock_timeout):
        state = backend.read()
        missing = [a for a in addresses if state is None or a not in state.resources]
        if state is None or missing:
            raise SmstateError(f"not in the state: {', '.join(missing)}")
        for address in addresses:
            del state.resources[address]
        backend.commit(state)
    for address in addresses:
        out.print(f"Removed {address} from the state (the object itself was not touched).")
    return 0


def output(inputs: Inputs, name: str | None, as_json: bool, raw: bool) -> int:
    _, backend, _ = _backend(inputs)
    state = backend.read()
    outputs = state.outputs if state else {}
    if name is not None:
        if name not in outputs:
            raise SmstateError(f"no output named {name!r} (have: {', '.join(sorted(outputs)) or 'none'})")
        value = outputs[name]
        if raw and isinstance(value, str):
            sys.stdout.write(value + "\n")
        else:
            sys.stdout.write(json.dumps(value) + "\n")
        return 0
    if as_json:
        sys.stdout.write(json.dumps(outputs, indent=2) + "\n")
    else:
        for key, value in sorted(outputs.items()):
            out.print(f"{key} = {json.dumps(value)}")
    return 0


def graph(inputs: Inputs) -> int:
    loaded = load(inputs)
    sys.stdout.write(build_graph(loaded.config).to_dot())
    return 0


def validate(inputs: Inputs) -> int:
    loaded = load(inputs)
    count = len(loaded.config.resources)
    out.print(f"[green]Success![/green] The configuration is valid ({count} resources).")
    return 0


def force_unlock(inputs: Inputs, lock_id: str) -> int:
    _, backend, _ = _backend(inputs)
    backend.force_unlock(lock_id)
    out.print("The state has been unlocked.")
    return 0


def workspace_cmd(inputs: Inputs, action: str, name: str | None) -> int:
    workspace, _, config = _backend(inputs)
    if action == "list":
        current = workspace.name
        for item in workspace.workspaces(config):
            out.print(("* " if item == current else "  ") + item)
        return 0
    if action == "show":
        out.print(workspace.name)
        return 0
    if not name:
        raise SmstateError(f"workspace {action} needs a NAME")
    change = {"new": _workspace_new, "select": _workspace_select, "delete": _workspace_delete}.get(action)
    if change is None:
        raise SmstateError(f"unknown workspace action {action!r}: use list, show, new, select or delete")
    change(workspace, config, name, workspace.workspaces(config))
    return 0


def _workspace_new(workspace: Workspace, config: Config | None, name: str, existing: list[str]) -> None:
    if name in existing:
        raise SmstateError(f"workspace {name!r} already exists")
    backend = workspace.backend(config, name)
    from ..state import State

    try:
        backend.write(State())
    except OSError as exc:
        raise SmstateError(f"cannot create workspace {name!r} in {backend.describe()}: {exc.strerror}") from None
    try:
        workspace.select(name)
    except SmstateError:
        backend.delete()  # a workspace that cannot be selected is not left half made
        raise
    out.print(f"Created and switched to workspace {name!r}.")


def _workspace_select(workspace: Workspace, config: Config | None, name: str, existing: list[str]) -> None:
    if name not in existing:
        raise SmstateError(f"workspace {name!r} does not exist; create it with `smstate workspace new {name}`")
    workspace.select(name)
    out.print(f"Switched to workspace {name!r}.")


def _workspace_delete(workspace: Workspace, config: Config | None, name: str, existing: list[str]) -> None:
    if name == "default":
        raise SmstateError("the default workspace cannot be deleted")
    if name == workspace.name:
        raise SmstateError(f"workspace {name!r} is selected; select another one first")
    if name not in existing:
        raise SmstateError(f"workspace {name!r} does not exist")
    backend = workspace.backend(config, name)
    state = backend.read()
    if state is not None and any(o.status != "gone" or o.deposed for o in state.resources.values()):
        raise SmstateError(f"workspace {name!r} still manages objects; destroy them first")
    try:
        backend.delete()
    except OSError as exc:
        raise SmstateError(f"cannot delete workspace {name!r} ({exc.filename}): {exc.strerror}") from None
    out.print(f"Deleted workspace {name!r}.")


def schema() -> int:
    """The JSON Schema of the config, built from botocore's shapes and the envelope models."""
    from .. import shapes
    from ..blocks import FOR_EACH_SCHEMA, block_schemas
    from ..config import BackendSettings, Lifecycle, Variable
    from ..datasources import data_arguments
    from ..resources import KINDS

    def resource_schema(kind: Any) -> dict[str, Any]:
        props = {name: shapes.json_schema(shape) for name, shape in kind.fields().items()}
        props["name"] = {"type": "string", "description": "Pin the physical name (not content-hashed)."}
        props["tags"] = {"type": "object", "additionalProperties": {"type": "string"}}
        props["lifecycle"] = Lifecycle.model_json_schema()
        props["depends_on"] = {"type": "array", "items": {"type": "string"}}
        props["for_each"] = FOR_EACH_SCHEMA
        props["provider"] = {"type": "string", "description": "A provider named under providers:"}
        return {"type": "object", "properties": props, "additionalProperties": False, "required": kind.required()}

    doc: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "smstate config",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "provider": ProviderSettings.model_json_schema(),
            "backend": BackendSettings.model_json_schema(),
            "variables": {"type": "object", "additionalProperties": Variable.model_json_schema()},
            "vpc_configs": {"type": "object", "additionalProperties": shapes.json_schema(shapes.named("VpcConfig"))},
            "outputs": {"type": "object"},
            **{k: {"type": "object", "additionalProperties": resource_schema(kind)} for k, kind in KINDS.items()},
            **block_schemas(ProviderSettings.model_json_schema(), {k: data_arguments(kind) for k, kind in KINDS.items()}),
        },
    }
    sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    return 0

"""`smstate state pull|push` and `smstate init [--migrate-state]`: moving state between backends.

Migration keeps each workspace's serial and lineage, so every object's ownership tag still
matches; it refuses to overwrite a different state (another lineage) at the destination.
"""

from __future__ import annotations


import sys

from ..backends import Backend
from ..config import load as load_config
from ..errors import SmstateError, StateError
from ..files import read_regular
from ..pipeline import Inputs, locked
from ..state import State
from ..workspace import Workspace
from .run import out


def pull(inputs: Inputs) -> int:
    workspace = Workspace(inputs.chdir)
    state = workspace.backend(load_config(workspace.config_files())).read()
    sys.stdout.write(state.dumps() if state else "{}\n")
    return 0


def push(inputs: Inputs, file: str, force: bool) -> int:
    workspace = Workspace(inputs.chdir)
    try:
        data = sys.stdin.buffer.read() if file == "-" else read_regular(file)
        text = data.decode()
    except OSError as exc:
        raise SmstateError(f"cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StateError(f"{file} is not a statefile (not UTF-8 text); the state was left untouched") from None
    incoming = State.loads(text, file)
    backend = workspace.backend(load_config(workspace.config_files()))
    with locked(backend, "state push", inputs.lock_timeout):
        current = backend.read()
        if current is not None and not force:
            if current.lineage != incoming.lineage:
                raise SmstateError(
                    f"{file} has lineage {incoming.lineage}, the state has {current.lineage}: refusing to replace "
                    "another state (--force overrides)"
                )
            if incoming.serial < current.serial:
                raise SmstateError(
                    f"{file} has serial {incoming.serial}, older than the state's {current.serial} (--force overrides)"
                )
        if current is not None and incoming.serial <= current.serial:
            backend.commit(incoming)  # written as the next version: its serial one past the state's
        else:
            backend.write(incoming)  # a newer serial is kept as pushed
    out.print(f"Pushed {file} to {backend.describe()} (serial {incoming.serial}).")
    return 0


def init(inputs: Inputs, migrate: bool, reconfigure: bool = False) -> int:
    """Record the config's backend once it answers; with --migrate-state, copy every workspace from the
    previous one; with --reconfigure, forget the previous one and copy nothing (Terraform's meanings)."""
    if migrate and reconfigure:
        raise SmstateError("--migrate-state and --reconfigure cannot be used together")
    workspace = Workspace(inputs.chdir)
    config = load_config(workspace.config_files())
    previous = workspace.recorded_backend()
    if reconfigure or previous is None or previous == config.backend:
        backend = workspace.backend(config)
        backend.read()
        workspace.record_backend(config.backend)
        out.print(f"Backend: {backend.describe()}")
        if reconfigure and previous is not None and previous != config.backend:
            out.print("The previous backend was forgotten; no state was copied from it.")
        return 0
    if not migrate:
        raise SmstateError(
            "the backend changed since the last `smstate init`; run `smstate init --migrate-state` to copy the "
            "state over, or `smstate init --reconfigure` to use the new backend without copying anything"
        )
    old_config = config.__class__(backend=previous)
    names = workspace.workspaces(old_config)
    for name in names:
        source = workspace.backend(old_config, name)
        target = workspace.backend(config, name)
        _copy(source, target, name)
    workspace.record_backend(config.backend)
    out.print(f"Migrated {len(names)} workspace(s) to {workspace.backend(config).describe()}.")
    return 0


def _copy(source: Backend, target: Backend, name: str) -> None:
    with locked(source, "migrate", 0), locked(target, "migrate", 0):
        state = source.read()
        if state is None:
            return
        existing = target.read()
        if existing is not None and existing.lineage != state.lineage:
            raise SmstateError(
                f"workspace {name}: {target.describe()} already holds another state (lineage {existing.lineage}); "
                "nothing was migrated for it"
            )
        if existing is not None and existing.serial > state.serial:
            raise SmstateError(f"workspace {name}: {target.describe()} is newer (serial {existing.serial}) than the source")
        target.write(state)
        out.print(f"  {name}: {source.describe()} -> {target.describe()} (serial {state.serial}, lineage {state.lineage})")



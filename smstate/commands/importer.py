"""`smstate import`: bring existing objects under management."""

from __future__ import annotations

from pathlib import Path

from .. import importing
from ..addresses import Address, tag_value
from ..errors import SmstateError
from ..pipeline import Inputs, load, locked, provider_for, read_state
from ..provider import Live, Provider
from ..resources import KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind
from ..routing import using
from ..workers import Workers
from .listing import listed_ids
from .run import out


def import_one(inputs: Inputs, address_text: str, object_id: str, adopt: bool) -> int:
    address = Address.parse(address_text)
    key = str(address)
    kind = KINDS[address.type]
    loaded = load(inputs)
    backend = loaded.workspace.backend(loaded.config)
    decl = loaded.config.resources.get(address)
    with locked(backend, "import", inputs.lock_timeout, loaded.remember_backend):
        state = read_state(backend)
        if key in state.resources:
            raise SmstateError(f"{address} is already in the state; run `smstate state rm '{address}'` first to re-import it")
        provider = provider_for(loaded)
        with using(provider, key):
            live = _adopted(provider, kind, object_id, address, state.lineage, adopt)
        obj = importing.object_state(kind, live, loaded.workspace.digest)
        obj.provider = decl.provider if decl is not None else None
        state.resources[key] = obj
        backend.commit(state)
    out.print(f"[green]Import successful![/green] {address} is {object_id}.")
    if decl is None:
        pin = f"name: {object_id}" if kind.name_member else f"the spec of {object_id}"
        out.print(f"Declare {address} in the config (with `{pin}`) or the next plan will destroy it.")
    return 0


def _adopted(provider: Provider, kind: Kind, physical: str, address: Address, lineage: str, adopt: bool) -> Live:
    """The object to import, read (and with `adopt`, tagged as this state's)."""
    live = provider.read(kind, physical) if physical else None
    if live is None:
        what = kind.state_type.replace("_", " ")
        raise SmstateError(f"no {what} named {physical!r} exists (import {address.type} by their {'ARN' if not kind.name_member else 'name'})")
    owner = importing.foreign_lineage(live, lineage)
    if owner:
        raise SmstateError(f"{physical} belongs to another smstate state (lineage {owner}); it cannot be imported here")
    if adopt and live.arn:
        provider.set_tags(live.arn, {OWNER_ADDRESS_TAG: tag_value(str(address)), OWNER_LINEAGE_TAG: lineage}, [])
        live = provider.read(kind, physical) or live
    return live


def generate_config(inputs: Inputs, file: str, prefix: str, types: list[str]) -> int:
    for type_name in types:
        if type_name not in KINDS:
            raise SmstateError(f"unknown --type {type_name!r}: use {', '.join(KINDS)}")
    path = Path(file) if Path(file).is_absolute() else Path(inputs.chdir) / file
    if path.exists():
        raise SmstateError(f"{path} already exists; choose another file (smstate never overwrites it)")
    if not (path.name == "smstate.yaml" or path.name.endswith(".smstate.yaml")):
        raise SmstateError(f"{path.name}: the generated file must be named smstate.yaml or *.smstate.yaml to be read")
    if not path.parent.is_dir():
        raise SmstateError(f"cannot write {path}: no directory {path.parent}")
    loaded = load(inputs)
    backend = loaded.workspace.backend(loaded.config)
    with locked(backend, "import", inputs.lock_timeout, loaded.remember_backend):
        state = read_state(backend)
        provider = provider_for(loaded)
        known = {o.id for o in state.resources.values()} | {o.arn for o in state.resources.values() if o.arn}
        found: dict[str, list[Live]] = {}
        for kind_name in types or list(KINDS):
            kind = KINDS[kind_name]  # a type asked for must be listed; of all types, those that can be
            rows = provider.list_ids(kind, prefix) if types else listed_ids(provider, kind, "none written", prefix)
            ids = [i for i, arn in rows if i not in known and arn not in known]
            with Workers(max_workers=max(1, inputs.parallelism)) as pool:
                lives = list(pool.map(lambda i: provider.read(KINDS[kind_name], i), ids))
            found[kind_name] = [
                live for live in lives if live is not None and not importing.foreign_lineage(live, state.lineage)
            ]
        text, entries = importing.generate(found, loaded.workspace.digest)
        taken = [str(a) for a, _ in entries if str(a) in state.resources or a in loaded.config.resources]
        if taken:
            raise SmstateError(f"these addresses are already declared or in state: {', '.join(taken)}; use --name-prefix")
        _write_new(path, text)
        for address, obj in entries:
            state.resources[str(address)] = obj
        backend.commit(state)
    out.print(f"[green]Wrote {path}[/green] with {len(entries)} resources, and recorded them in the state.")
    out.print("Run `smstate plan`: it should say No changes.")
    return 0


def _write_new(path: Path, text: str) -> None:
    """Create `path` (never overwrite); a failed write leaves no partial file behind."""
    try:
        handle = path.open("x", encoding="utf-8")
    except OSError as exc:
        raise SmstateError(f"cannot write {path}: {exc.strerror}; nothing was recorded in the state") from None
    try:
        with handle:
            handle.write(text)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise SmstateError(f"cannot write {path}: {exc.strerror}; nothing was recorded in the state") from None

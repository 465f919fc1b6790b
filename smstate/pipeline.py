"""One command's run: config -> variables -> lock -> state -> refresh -> plan.

The steps are the pure core's; this module wires them to the disk and the provider.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from . import config as config_mod
from . import interrupts
from . import variables as variables_mod
from .addresses import Address
from .backends import LockInfo
from .backends import Backend
from .changes import Drift, Plan
from .config import Config
from .datasources import reader
from .errors import SmstateError
from .evaluate import Desired, Evaluation, Keys, Known, evaluate
from .expand import expand, needs_expansion
from .fanout import check_all_creates, check_provider_names, providers_for, refresh_lives, route
from .files import read_regular_text
from .graph import Graph
from .hashing import StateKey
from .modsource import module_reader
from .moved import apply_moves
from .plan import LiveKey, Options, lifecycles, make_plan, refresh
from .provider import Provider
from .resources import BY_STATE_TYPE
from .rekey import rekey
from .routing import by_provider
from .state import State
from .statekey import KeyedBackend
from .workspace import Workspace


@dataclass
class Inputs:
    """What the user passed on the command line."""

    chdir: str = "."
    vars: list[str] = field(default_factory=list)
    var_files: list[str] = field(default_factory=list)
    parallelism: int = 10
    lock_timeout: float = 0.0


@dataclass
class Loaded:
    workspace: Workspace
    config: Config
    variables: dict[str, Any]
    files: list[tuple[str, str]]
    graph: Graph | None = None
    """The dependency graph, built by the first evaluation and kept for the later ones."""
    last: tuple[Any, Evaluation] | None = field(default=None, repr=False)
    """The latest evaluation against a state, with what of the state it depended on."""
    root: Config | None = None
    """The config as written, before its for_each blocks and modules were expanded."""

    def read_data(self, provider: Provider) -> None:
        """Expand again with the data sources read: their results are now known values."""
        if self.root is None or not needs_expansion(self.root):
            return
        self.config = expand(self.root, self.variables, module_reader(self.workspace.dir), reader(by_provider(provider)))
        self.graph = None
        self.last = None

    def evaluate(self, state: State | None) -> Evaluation:
        """The config evaluated against what `state` knows; evaluated again only when that changed."""
        inputs = (known_values(state), keys_of(state))
        if self.last is not None and inputs[1] is not None and self.last[0] == inputs:
            return self.last[1]
        evaluation = evaluate(self.config, self.variables, inputs[0], self.workspace.digest,
                              str(self.workspace.dir), graph=self.graph, keys=inputs[1])
        self.graph = evaluation.graph
        self.last = (inputs, evaluation)
        return evaluation

    def remember_backend(self) -> None:
        self.workspace.remember_backend(self.config)


def parse_cli_vars(items: list[str], declared: Collection[str] = ()) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            shown = f" {item!r}" if item in declared else " (not shown: it may be a value)"
            raise SmstateError(f"invalid --var{shown}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def read_var_files(paths: list[str], base: Path) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for raw in paths:
        path = Path(raw) if Path(raw).is_absolute() else Path.cwd() / raw
        try:
            data = yaml.safe_load(read_regular_text(path))
        except OSError as exc:
            raise SmstateError(f"cannot read --var-file {raw}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise SmstateError(f"--var-file {raw} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except yaml.YAMLError as exc:
            raise SmstateError(f"--var-file {_yaml_problem(raw, exc)}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SmstateError(f"--var-file {raw} must hold a map of variable values")
        out.append(data)
    return out


def _yaml_problem(name: str, exc: yaml.YAMLError) -> str:
    """Where and what, never the text: a var file may hold secrets, and YAML's message quotes the line."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    problem = getattr(exc, "problem", None) or "cannot be parsed"
    return f"{where} is not valid YAML: {_without_quotes(str(problem))}"


def _without_quotes(problem: str) -> str:
    """YAML quotes what it tripped on (`found undefined alias 'x'`): a token of the file is never shown."""
    return re.sub(r"'([^']*)'", lambda m: m.group(0) if len(m.group(1)) <= 2 or m.group(1).startswith("<") else "'...'", problem)


def load(inputs: Inputs, files: list[tuple[str, str]] | None = None, cli_vars: dict[str, str] | None = None,
         var_files: Sequence[Mapping[str, Any]] | None = None, check: bool = True) -> Loaded:
    """Read the config (and variables) before anything is locked or called; `check` evaluates
    it too (a plan instead evaluates it once, against the state: `planning`)."""
    workspace = Workspace(inputs.chdir)
    files = files if files is not None else workspace.config_files()
    config = config_mod.load(files)
    cli_vars = cli_vars if cli_vars is not None else parse_cli_vars(inputs.vars, config.variables)
    var_files = var_files if var_files is not None else read_var_files(inputs.var_files, workspace.dir)
    values = variables_mod.resolve(config, cli_vars, list(var_files), os.environ)
    expanded = expand(config, values, module_reader(workspace.dir))
    check_provider_names(expanded)
    loaded = Loaded(workspace, expanded, values, files, root=config)
    if check:
        loaded.evaluate(None)
    workspace.check_backend(config)
    return loaded


def known_values(state: State | None, only: set[str] | None = None) -> dict[Address, Known]:
    if state is None:
        return {}
    out = {}
    items = state.resources.items() if only is None else ((a, state.resources[a]) for a in only if a in state.resources)
    for address, obj in items:
        if obj.status != "gone":
            out[Address.parse(address)] = Known(obj.physical_name, obj.arn, obj.spec_hash, obj.version)
    return out


@contextmanager
def locked(backend: Backend, operation: str, timeout: float,
           on_locked: Callable[[], None] | None = None) -> Iterator[LockInfo]:
    """Hold the state lock for the block; released however the block ends, a signal included.
    `on_locked` runs once it is held (the backend exists and answers).

    Signals are held while the lock is taken and while it is released, so none can come between
    the lock file being written and the block that releases it, nor stop the release half-way.
    """
    info: LockInfo | None = None
    try:
        with interrupts.deferred():
            info = backend.lock(operation, timeout)
        if on_locked is not None:
            on_locked()
        yield info
    finally:
        interrupts.handler.deferred += 1  # inline, not a call: no signal is handled before it
        try:
            if info is not None:
                backend.unlock(info)
        finally:
            interrupts.handler.deferred -= 1
        if sys.exc_info()[1] is not None:
            interrupts.handler.pending = None  # ending on an error already: that error is the one to report
        elif not interrupts.handler.deferred:
            interrupts.handler.raise_pending()


def read_state(backend: KeyedBackend) -> State:
    return backend.read() or backend.new_state()


def keys_of(state: State | None) -> Keys | None:
    """The keys a state's hashes are made with (none: a check that stores nothing)."""
    return Keys(state.key, state.previous_key) if state is not None and state.key is not None else None


def rekeyed(loaded: Loaded, state: State) -> State:
    """The state with its hashes under its own key, re-derived from the config's values (rekey.py)."""
    if state.key is None:  # the key it was written with is not at hand: refused before anything is planned
        raise SmstateError(state.key_problem or "the state has no key")
    if state.previous_key is None:
        return state
    return rekey(state, loaded.evaluate(state).desired)


def planning(loaded: Loaded, state: State) -> Evaluation:
    """The config evaluated against the recorded state, before any provider is built (so config
    errors come first); the plan reuses it unless the refresh changes what it depended on."""
    return loaded.evaluate(_adopting(rekeyed(loaded, state)))


def _adopting(state: State) -> State:
    """What was recorded before the config marked it sensitive (an import's live spec, kept in
    clear with an unkeyed hash) is taken to its keyed form, as a statefile from before keys is."""
    return replace(state, previous_key=StateKey.of_lineage(state.lineage))


def build_plan(loaded: Loaded, provider: Provider | None, state: State, options: Options, parallelism: int) -> tuple[Plan, State]:
    """Refresh through the provider, then plan against the refreshed state."""
    drift: list[Drift] = []
    if provider is not None:
        loaded.read_data(provider)
    state, moves = apply_moves(state, loaded.config.blocks.moved)
    route(provider, loaded.config, state)
    refreshed = state = rekeyed(loaded, state)
    if provider is not None:
        lives = refresh_lives(provider, state, parallelism)
        refreshed, drift = refresh(state, lives, lifecycles(loaded.config))
    adopting = _adopting(refreshed)
    evaluation = loaded.evaluate(adopting)
    refreshed = rekey(adopting, evaluation.desired)
    plan = make_plan(loaded.config, evaluation, refreshed, drift, options)
    plan.warnings += [f"moved {move}" for move in moves]
    blocks = loaded.config.blocks
    plan.data = {key: blocks.read[key] for key in sorted({k for c in plan.changes for k in blocks.uses.get(c.address, ())})}
    if provider is not None:
        check_all_creates(provider, plan.changes, state.lineage, parallelism)
    if provider is not None and loaded.config.provider.type == "aws":
        plan.warnings += check_network(by_provider(provider)[None], evaluation)
    return plan, refreshed


def check_network(provider: Provider, evaluation: Evaluation) -> list[str]:
    """Fail fast on subnets and security groups that do not exist, before any endpoint waits on them."""
    subnets: set[str] = set()
    groups: set[str] = set()
    for desired in evaluation.desired.values():
        if desired.provider is not None:
            continue  # the default provider's objects: it is the one asked
        vpc = desired.spec.get("vpc_config")
        if isinstance(vpc, dict):
            subnets.update(s for s in vpc.get("subnets", []) if isinstance(s, str))
            groups.update(g for g in vpc.get("security_group_ids", []) if isinstance(g, str))
    if not subnets and not groups:
        return []
    try:
        missing = provider.check_network(sorted(subnets), sorted(groups))
    except PermissionError:
        return ["cannot check VPC subnets and security groups (no EC2 read permission); going on"]
    if missing:
        raise SmstateError("these VPC subnets or security groups do not exist: " + ", ".join(missing))
    return []


def provider_for(loaded: Loaded) -> Provider:
    return providers_for(loaded.config, str(loaded.workspace.dir))

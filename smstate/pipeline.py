"""One command's run: config -> variables -> lock -> state -> refresh -> plan.

The steps are the pure core's; this module wires them to the disk and the provider.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import config as config_mod
from . import variables as variables_mod
from .addresses import Address
from .backends import LockInfo
from .backends import Backend
from .changes import Drift, Plan
from .config import Config
from .errors import SmstateError
from .evaluate import Desired, Evaluation, Known, evaluate
from .graph import Graph
from .ownership import check_creates
from .plan import LiveKey, Options, lifecycles, make_plan, refresh
from .provider import Provider, load_provider
from .refresh import refresh_lives
from .resources import BY_STATE_TYPE
from .state import State
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

    def evaluate(self, state: State | None) -> Evaluation:
        evaluation = evaluate(self.config, self.variables, known_values(state), self.workspace.digest,
                              str(self.workspace.dir), graph=self.graph)
        self.graph = evaluation.graph
        return evaluation

    def resolver(self) -> Any:
        """address, state -> Desired: one resource evaluated against the state as it is then.

        Apply calls it before each operation, so it costs the resource and its dependencies,
        not the whole config."""
        graph = self.graph or self.evaluate(None).graph

        def resolve(address: Address, state: State) -> Desired:
            wanted = {address}
            stack = [address]
            while stack:
                for dep in graph.edges.get(stack.pop(), ()):
                    if dep not in wanted:
                        wanted.add(dep)
                        stack.append(dep)
            known = known_values(state, {str(a) for a in wanted})
            evaluation = evaluate(self.config, self.variables, known, self.workspace.digest, str(self.workspace.dir),
                                  wanted, graph)
            return evaluation.desired[address]

        return resolve


def parse_cli_vars(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SmstateError(f"invalid --var {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def read_var_files(paths: list[str], base: Path) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for raw in paths:
        path = Path(raw) if Path(raw).is_absolute() else Path.cwd() / raw
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise SmstateError(f"cannot read --var-file {raw}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise SmstateError(f"--var-file {raw} is not valid YAML: {exc}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SmstateError(f"--var-file {raw} must hold a map of variable values")
        out.append(data)
    return out


def load(inputs: Inputs, files: list[tuple[str, str]] | None = None, cli_vars: dict[str, str] | None = None,
         var_files: Sequence[Mapping[str, Any]] | None = None) -> Loaded:
    """Read and check the config (and variables) before anything is locked or called."""
    workspace = Workspace(inputs.chdir)
    files = files if files is not None else workspace.config_files()
    config = config_mod.load(files)
    cli_vars = cli_vars if cli_vars is not None else parse_cli_vars(inputs.vars)
    var_files = var_files if var_files is not None else read_var_files(inputs.var_files, workspace.dir)
    values = variables_mod.resolve(config, cli_vars, list(var_files), os.environ)
    loaded = Loaded(workspace, config, values, files)
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
def locked(backend: Backend, operation: str, timeout: float) -> Iterator[LockInfo]:
    info = backend.lock(operation, timeout)
    try:
        yield info
    finally:
        backend.unlock(info)


def read_state(backend: Backend) -> State:
    return backend.read() or State()


def build_plan(loaded: Loaded, provider: Provider | None, state: State, options: Options, parallelism: int) -> tuple[Plan, State]:
    """Refresh through the provider, then plan against the refreshed state."""
    drift: list[Drift] = []
    refreshed = state
    if provider is not None:
        lives = refresh_lives(provider, state, parallelism)
        refreshed, drift = refresh(state, lives, lifecycles(loaded.config))
    evaluation = loaded.evaluate(refreshed)
    plan = make_plan(loaded.config, evaluation, refreshed, drift, options)
    if provider is not None:
        check_creates(provider, plan.changes, state.lineage, parallelism)
    if provider is not None and loaded.config.provider.type == "aws":
        plan.warnings += check_network(provider, evaluation)
    return plan, refreshed


def check_network(provider: Provider, evaluation: Evaluation) -> list[str]:
    """Fail fast on subnets and security groups that do not exist, before any endpoint waits on them."""
    subnets: set[str] = set()
    groups: set[str] = set()
    for desired in evaluation.desired.values():
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
    return load_provider(loaded.config.provider, str(loaded.workspace.dir))

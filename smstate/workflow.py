"""The apply workflow: load, lock, refresh, plan, approve, execute, record the outputs.

Commands call it with a `Dialog` that shows the plan and asks for approval; the workflow
decides and writes, the command only renders what it returns. The state is written through
the backend's commit, which alone bumps the serial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from . import interrupts, planfile
from .addresses import Address
from .apply import Executor, Hooks
from .changes import Mode, Plan
from .errors import PlanFileError, StateWriteError
from .outcome import Outcome
from .completion import completer, settled
from .evaluate import outputs
from .pipeline import Inputs, Loaded, build_plan, known_values, load, locked, planning, provider_for
from .plan import Options
from .render import shown
from .state import State, redact
from .statekey import KeyedBackend


@dataclass
class RunOptions:
    mode: Mode = Mode.NORMAL
    targets: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)

    def options(self) -> Options:
        return Options(
            self.mode,
            frozenset(Address.parse(t) for t in self.targets),
            frozenset(Address.parse(r) for r in self.replace),
        )


class Dialog(Protocol):
    """What the workflow asks of the command that runs it."""

    @property
    def hooks(self) -> Hooks:
        """Told when each operation starts, progresses and ends."""

    def show(self, plan: Plan, full: bool) -> None:
        """The plan's warnings, and (when `full`) its text, before approval."""

    def confirm(self, question: str) -> bool: ...

    def interrupted(self, second: bool) -> None:
        """Say what a first (start nothing new) or second (stop waiting) interrupt does."""


class Ending(str, Enum):
    APPLIED = "applied"
    NO_CHANGES = "no changes"
    REFRESHED = "refreshed"
    CANCELLED = "cancelled"


@dataclass
class Applied:
    """How an apply ended, and the state it left."""

    ending: Ending
    state: State
    mode: Mode
    outcome: Outcome = field(default_factory=Outcome)


@dataclass
class Request:
    inputs: Inputs
    run: RunOptions
    plan_path: str | None = None
    auto_approve: bool = False
    timeout: float | None = None


def apply(request: Request, dialog: Dialog) -> Applied:
    """Plan (or take a saved plan), and once approved carry it out, saving after each operation."""
    saved, loaded = _load(request)
    run = RunOptions(saved.mode, saved.targets, saved.replace) if saved else request.run
    auto_approve = request.auto_approve or saved is not None  # a saved plan was approved by saving it
    backend = loaded.workspace.backend(loaded.config, saved.workspace if saved else None)
    operation = "destroy" if run.mode is Mode.DESTROY else "apply"
    with locked(backend, operation, request.inputs.lock_timeout, loaded.remember_backend):
        current = backend.read()
        state = current if current is not None else backend.new_state(saved.lineage if saved else None)
        if saved is not None:
            _check_fresh(saved, state, str(request.plan_path))
        planning(loaded, state)
        provider = provider_for(loaded)
        result, refreshed = build_plan(loaded, provider, state, run.options(), request.inputs.parallelism)
        if saved is not None and planfile.signature(result) != saved.changes:
            raise PlanFileError(f"the live objects changed since {request.plan_path} was saved; run `smstate plan` again")
        dialog.show(result, saved is None or bool(result.drift or result.changes))
        destroyed = run.mode is Mode.DESTROY and not run.targets

        def approved(question: str) -> bool:
            return auto_approve or dialog.confirm(question)

        if run.mode is Mode.REFRESH_ONLY:
            if result.drift and approved("Record the live values in state?"):
                backend.commit(refreshed)
            return Applied(Ending.REFRESHED, refreshed, run.mode)
        if not result.changes:
            _record_refreshed(loaded, backend, (state, refreshed), result, destroyed)
            return Applied(Ending.NO_CHANGES, refreshed, run.mode)
        if not approved("Do you want to perform these actions?"):
            return Applied(Ending.CANCELLED, state, run.mode)
        if current is None:
            # Every object is tagged with the lineage, so it must be on disk before the first
            # Create: a run killed before its first save would otherwise leave objects that no
            # state can adopt (their lineage lost with the process).
            backend.commit(refreshed)  # a new state: nothing recorded yet, only its lineage and key
        executor = Executor(
            provider, refreshed, backend.commit, completer(result.desired, loaded.workspace.digest), dialog.hooks,
            request.inputs.parallelism, request.timeout, loaded.config.provider.timeout,
        )
        outcome = _with_signals(executor, result, dialog)
        if not outcome.unrecorded:  # else the statefile on disk stays the last consistent one
            try:
                store_outputs(loaded, backend, executor.state, result, destroyed)
            except StateWriteError as failure:
                outcome.errors.append(f"every operation completed and is recorded, but the outputs are not: {failure.reason}")
    return Applied(Ending.APPLIED, executor.state, run.mode, outcome)


def _load(request: Request) -> tuple[planfile.SavedPlan | None, Loaded]:
    """The saved plan, if any, and the config (a saved plan's own config and variables)."""
    if not request.plan_path:
        return None, load(request.inputs, check=False)
    saved = planfile.read(Path(request.plan_path))
    return saved, load(request.inputs, saved.config_files, saved.cli_vars, saved.var_files, check=False)


def _check_fresh(saved: planfile.SavedPlan, state: State, path: str) -> None:
    """A saved plan applies only to the state it was made from."""
    if saved.lineage != state.lineage or saved.serial != state.serial:
        raise PlanFileError(
            f"the saved plan {path} is stale: it was made at state serial {saved.serial} "
            f"(lineage {saved.lineage[:8]}), the state is now at serial {state.serial} "
            f"(lineage {state.lineage[:8]}); run `smstate plan` again"
        )


def _record_refreshed(loaded: Loaded, backend: KeyedBackend, states: tuple[State, State], plan: Plan, destroyed: bool) -> None:
    """Nothing to change: record what the refresh (or a re-keying) changed, and the outputs."""
    state, refreshed = states
    if refreshed.to_json()["resources"] != state.to_json()["resources"] or state.previous_key is not None:
        backend.commit(refreshed)
    store_outputs(loaded, backend, refreshed, plan, destroyed)


def _with_signals(executor: Executor, result: Plan, dialog: Dialog) -> Outcome:
    """First Ctrl-C/SIGTERM: start nothing new. Second: stop waiting too."""

    def handler(signum: int) -> None:
        second = executor.stopping.is_set()
        (executor.aborting if second else executor.stopping).set()
        dialog.interrupted(second)

    with interrupts.graceful(handler):
        return executor.run(result)


def store_outputs(loaded: Loaded, backend: KeyedBackend, state: State, plan: Plan, destroyed: bool = False) -> None:
    """Record the config's outputs (none after a full destroy), redacted, when they changed.

    They are the plan's, with what the apply made known filled in from the state."""
    found = {} if destroyed else outputs(loaded.config, loaded.variables, known_values(state),
                                         settled(plan.desired, state, loaded.workspace.digest))
    values = {name: shown(redact(value, state.hash_key)) for name, value in found.items()}
    if values != state.outputs:
        state.outputs = values
        backend.commit(state)

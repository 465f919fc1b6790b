"""plan, apply, destroy: the commands that refresh, plan and change things."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import interrupts, planfile
from ..addresses import Address
from ..apply import Executor, Outcome
from ..changes import Mode, Plan
from ..errors import PlanFileError, SmstateError, StateWriteError
from ..pipeline import Inputs, Loaded, build_plan, load, locked, provider_for, read_state
from ..plan import Options
from ..progress import LineProgress
from ..render import plan_json, plan_text, shown
from ..state import State, redact

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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


def plan(inputs: Inputs, run: RunOptions, as_json: bool, out_file: str | None, detailed: bool) -> int:
    options = run.options()
    if out_file:
        planfile.check_writable(Path(out_file))
    loaded = load(inputs)
    backend = loaded.workspace.backend(loaded.config)
    with locked(backend, "plan", inputs.lock_timeout, loaded.remember_backend):
        state = read_state(backend)
        provider = provider_for(loaded)
        result, _ = build_plan(loaded, provider, state, options, inputs.parallelism)
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}")
    if as_json:
        sys.stdout.write(json.dumps(plan_json(result)) + "\n")
    else:
        out.print(plan_text(result))
    if out_file:
        saved = planfile.SavedPlan(
            state.lineage, state.serial, loaded.workspace.name, run.mode, run.targets, run.replace,
            loaded.files, {}, [dict(loaded.variables)], planfile.signature(result),
        )
        planfile.write(Path(out_file), saved, result)
        (err if as_json else out).print(f"\nSaved the plan to {out_file}; apply it with `smstate apply {out_file}`.")
    if detailed and (result.changes or (run.mode is Mode.REFRESH_ONLY and result.drift)):
        return 2
    return 0


def apply(inputs: Inputs, run: RunOptions, plan_path: str | None, auto_approve: bool, timeout: float | None) -> int:
    saved: planfile.SavedPlan | None = None
    if plan_path:
        saved = planfile.read(Path(plan_path))
        loaded = load(inputs, saved.config_files, saved.cli_vars, saved.var_files)
        run = RunOptions(saved.mode, saved.targets, saved.replace)
        auto_approve = True
    else:
        loaded = load(inputs)
    options = run.options()
    backend = loaded.workspace.backend(loaded.config, saved.workspace if saved else None)
    operation = "destroy" if run.mode is Mode.DESTROY else "apply"
    with locked(backend, operation, inputs.lock_timeout, loaded.remember_backend):
        current = backend.read()
        state = current if current is not None else backend.new_state(saved.lineage if saved else None)
        if saved is not None and (saved.lineage != state.lineage or saved.serial != state.serial):
            raise PlanFileError(
                f"the saved plan {plan_path} is stale: it was made at state serial {saved.serial} "
                f"(lineage {saved.lineage[:8]}), the state is now at serial {state.serial} "
                f"(lineage {state.lineage[:8]}); run `smstate plan` again"
            )
        provider = provider_for(loaded)
        result, refreshed = build_plan(loaded, provider, state, options, inputs.parallelism)
        if saved is not None and planfile.signature(result) != saved.changes:
            raise PlanFileError(f"the live objects changed since {plan_path} was saved; run `smstate plan` again")
        for warning in result.warnings:
            err.print(f"[yellow]Warning:[/yellow] {warning}")
        if saved is None or result.drift or result.changes:
            out.print(plan_text(result))
        if run.mode is Mode.REFRESH_ONLY:
            if result.drift and _confirm(auto_approve, "Record the live values in state?"):
                _save(backend, refreshed, state)
            out.print("\n[bold green]Apply complete![/bold green] The state now matches the live objects.")
            return 0
        if not result.changes:
            if refreshed.to_json()["resources"] != state.to_json()["resources"] or state.previous_key is not None:
                _save(backend, refreshed, state)
            _store_outputs(loaded, backend, refreshed, run.mode is Mode.DESTROY and not run.targets)
            return 0
        if not _confirm(auto_approve, "Do you want to perform these actions?"):
            out.print("\nApply cancelled.")
            return 1
        if current is None:
            # Every object is tagged with the lineage, so it must be on disk before the first
            # Create: a run killed before its first save would otherwise leave objects that no
            # state can adopt (their lineage lost with the process).
            _save(backend, backend.new_state(state.lineage), state)
            state.serial += 1
        refreshed.serial = state.serial
        executor = Executor(
            provider, refreshed, backend.write, loaded.resolver(), LineProgress(out),
            inputs.parallelism, timeout, loaded.config.provider.timeout,
        )
        outcome = _with_signals(executor, result)
        if not outcome.unrecorded:  # else the statefile on disk stays the last consistent one
            try:
                _store_outputs(loaded, backend, executor.state, run.mode is Mode.DESTROY and not run.targets)
            except StateWriteError as failure:
                outcome.errors.append(f"every operation completed and is recorded, but the outputs are not: {failure.reason}")
    verb = "Destroy" if run.mode is Mode.DESTROY else "Apply"
    if outcome.errors:
        for error in outcome.errors:
            err.print(f"[red]Error:[/red] {error}", markup=True)
        return 1
    out.print(
        f"\n[bold green]{verb} complete![/bold green] Resources: {outcome.added} added, "
        f"{outcome.changed} changed, {outcome.destroyed} destroyed."
    )
    _print_outputs(executor.state)
    return 0


def _with_signals(executor: Executor, result: Plan) -> Outcome:
    """First Ctrl-C/SIGTERM: start nothing new. Second: stop waiting too."""

    def handler(signum: int) -> None:
        if executor.stopping.is_set():
            executor.aborting.set()
            err.print("\n[red]Second interrupt: no longer waiting for operations in flight.[/red]")
        else:
            executor.stopping.set()
            err.print("\n[yellow]Interrupt received: finishing the operations in flight; no new ones will start.[/yellow]")

    with interrupts.graceful(handler):
        return executor.run(result)


def _confirm(auto_approve: bool, question: str) -> bool:
    if auto_approve:
        return True
    out.print(f"\n{question}\n  Only 'yes' will be accepted to approve.\n")
    try:
        answer = input("Enter a value: ")
    except EOFError:
        answer = ""
    return answer.strip() == "yes"


def _save(backend: Any, new: State, old: State) -> None:
    new.serial = old.serial + 1
    backend.write(new)


def _store_outputs(loaded: Loaded, backend: Any, state: State, destroyed: bool = False) -> None:
    values = {}
    evaluation = loaded.evaluate(state)
    for name, value in ({} if destroyed else evaluation.outputs).items():
        values[name] = shown(redact(value, state.hash_key))
    if values != state.outputs:
        state.outputs = values
        state.serial += 1
        backend.write(state)


def _print_outputs(state: State) -> None:
    if state.outputs:
        out.print("\nOutputs:\n")
        for name, value in sorted(state.outputs.items()):
            out.print(f"{name} = {json.dumps(value)}")


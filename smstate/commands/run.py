"""plan, apply, destroy: the commands that refresh, plan and change things."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from .. import planfile
from ..changes import Mode, Plan
from ..pipeline import Inputs, build_plan, load, locked, planning, provider_for, read_state
from ..progress import LineProgress
from ..render import plan_json, plan_text
from ..state import State
from ..workflow import Ending, Request, RunOptions, apply as apply_workflow

__all__ = ["RunOptions", "apply", "err", "out", "plan"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def plan(inputs: Inputs, run: RunOptions, as_json: bool, out_file: str | None, detailed: bool) -> int:
    options = run.options()
    if out_file:
        planfile.check_writable(Path(out_file))
    loaded = load(inputs, check=False)
    backend = loaded.workspace.backend(loaded.config)
    with locked(backend, "plan", inputs.lock_timeout, loaded.remember_backend):
        state = read_state(backend)
        planning(loaded, state)
        provider = provider_for(loaded)
        result, _ = build_plan(loaded, provider, state, options, inputs.parallelism)
        if out_file:
            backend.keep_key()  # the saved plan's digests are keyed with it
    _warn(result)
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


class Terminal:
    """The workflow's dialog with the user: the plan and the questions on stdout, interrupts on stderr."""

    def __init__(self) -> None:
        self.hooks = LineProgress(out)

    def show(self, plan: Plan, full: bool) -> None:
        _warn(plan)
        if full:
            out.print(plan_text(plan))

    def confirm(self, question: str) -> bool:
        out.print(f"\n{question}\n  Only 'yes' will be accepted to approve.\n")
        try:
            answer = input("Enter a value: ")
        except EOFError:
            answer = ""
        return answer.strip() == "yes"

    def interrupted(self, second: bool) -> None:
        if second:
            err.print("\n[red]Second interrupt: no longer waiting for operations in flight.[/red]")
        else:
            err.print("\n[yellow]Interrupt received: finishing the operations in flight; no new ones will start.[/yellow]")


def apply(inputs: Inputs, run: RunOptions, plan_path: str | None, auto_approve: bool, timeout: float | None) -> int:
    applied = apply_workflow(Request(inputs, run, plan_path, auto_approve, timeout), Terminal())
    if applied.ending is Ending.CANCELLED:
        out.print("\nApply cancelled.")
        return 1
    if applied.ending is Ending.REFRESHED:
        out.print("\n[bold green]Apply complete![/bold green] The state now matches the live objects.")
        return 0
    if applied.ending is Ending.NO_CHANGES:
        return 0
    outcome = applied.outcome
    if outcome.errors:
        for error in outcome.errors:
            err.print(f"[red]Error:[/red] {error}", markup=True)
        return 1
    verb = "Destroy" if applied.mode is Mode.DESTROY else "Apply"
    out.print(
        f"\n[bold green]{verb} complete![/bold green] Resources: {outcome.added} added, "
        f"{outcome.changed} changed, {outcome.destroyed} destroyed."
    )
    _print_outputs(applied.state)
    return 0


def _warn(plan: Plan) -> None:
    for warning in plan.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}")


def _print_outputs(state: State) -> None:
    if state.outputs:
        out.print("\nOutputs:\n")
        for name, value in sorted(state.outputs.items()):
            out.print(f"{name} = {json.dumps(value)}")

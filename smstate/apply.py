"""The executor: runs a plan's operations in dependency order, a bounded number at a time.

An operation starts once every operation it depends on has finished; one whose dependency
failed is skipped. An unreachable API or a state that cannot be saved stops every new
operation (outcome.py); so does the first interrupt, and a second one stops waiting for the
operations in flight. What one operation does is actions.py; how its result is saved, commit.py.
"""

from __future__ import annotations

import graphlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Protocol

from .actions import Actions, Resolve
from .changes import Action, Plan
from .commit import Commit, StateSink
from .endpoints import Endpoints
from .errors import ProviderError, SmstateError, UnreachableError
from .operations import OpGraph, OpKey, Operation, Step, operations
from .outcome import Halt, Outcome, StoppedWaiting, Unrecorded, interrupted_message
from .provider import Live, Progress, Provider
from .routing import using
from .state import State
from .workers import Workers

__all__ = ["Executor", "Hooks", "Operation", "Outcome", "Resolve", "StateSink"]

POLL = 0.2
"""Seconds between looks at the interrupt flags while operations run: a second Ctrl-C is obeyed
even when every operation in flight sits in a read of a hung API."""


class Hooks(Protocol):
    def started(self, op: Operation, verb: str) -> None: ...

    def progress(self, op: Operation, progress: Progress) -> None: ...

    def finished(self, op: Operation, error: str | None) -> None: ...


class Executor:
    """Carries out one plan against one provider, saving state as it goes."""

    def __init__(
        self,
        provider: Provider,
        state: State,
        save: StateSink,
        resolve: Resolve,
        hooks: Hooks,
        parallelism: int = 10,
        timeout: float | None = None,
        default_timeout: float = 3600.0,
    ) -> None:
        self.provider = provider
        self.hooks = hooks
        self.parallelism = max(1, parallelism)
        self.stopping = threading.Event()
        self.aborting = threading.Event()
        self.outcome = Outcome()
        self.commit = Commit(state, save)
        self.actions = Actions(provider, self.commit, resolve, Endpoints(provider, timeout, default_timeout), self.outcome)

    @property
    def state(self) -> State:
        return self.commit.state

    def run(self, plan: Plan) -> Outcome:
        graph = operations(plan.changes)
        done: set[OpKey] = set()
        failed: set[OpKey] = set()
        running: dict[Future[None], Operation] = {}
        halt = Halt()
        pending = _by_priority(graph)
        with Workers(max_workers=self.parallelism, thread_name_prefix="smstate") as pool:
            while pending or running:
                self._start(pending, running, done, failed, halt, lambda op: pool.submit(self._run_one, op))
                if (self.stopping.is_set() or halt) and not running:
                    break
                if not running:
                    if pending:
                        self.outcome.errors.append("cannot order the remaining operations: " + ", ".join(str(o) for o, _ in pending.values()))
                    break
                finished, _ = wait(list(running), timeout=POLL, return_when=FIRST_COMPLETED)
                for future in finished:
                    op = running.pop(future)
                    self._settle(op, future.exception(), done, failed, halt)
                if self.aborting.is_set() and running:
                    pool.abandon()
                    self._abandon(list(running.values()), halt)
                    break
        self.outcome.errors += halt.messages(self.commit.on_disk)
        if self.stopping.is_set():
            self.outcome.errors.append(interrupted_message(len(pending), self.outcome.abandoned))
        return self.outcome

    def _start(
        self, pending: OpGraph, running: dict[Future[None], Operation], done: set[OpKey], failed: set[OpKey],
        halt: Halt, submit: Callable[[Operation], Future[None]],
    ) -> None:
        """Start what may start: every dependency done, a free slot, no stop. Skip what a failure blocks."""
        for key, (op, deps) in list(pending.items()):
            if deps & failed:
                failed.add(key)
                del pending[key]
                self.hooks.finished(op, "skipped: a dependency failed")
                continue
            if self.stopping.is_set() or halt or len(running) >= self.parallelism or not deps <= done:
                continue
            del pending[key]
            running[submit(op)] = op

    def _settle(self, op: Operation, error: BaseException | None, done: set[OpKey], failed: set[OpKey], halt: Halt) -> None:
        """Take in one finished operation: done, failed, or a failure that stops everything."""
        if error is None:
            done.add(op.key)
            self.hooks.finished(op, None)
            return
        failed.add(op.key)
        if isinstance(error, UnreachableError):
            halt.unreachable.append((str(op.change.address), str(error)))
            self.hooks.finished(op, "failed: the API cannot be reached")
        elif isinstance(error, Unrecorded):
            halt.unrecorded.append(error)
            self.outcome.unrecorded.append(error.done)
            self.hooks.finished(op, "completed, but the state could not be saved")
        else:
            message = str(error) if isinstance(error, SmstateError) else f"{type(error).__name__}: {error}"
            self.outcome.errors.append(f"{op.change.address}: {message}" if not message.startswith(str(op.change.address)) else message)
            self.hooks.finished(op, message)

    def _abandon(self, ops: list[Operation], halt: Halt) -> None:
        """A second interrupt: stop waiting for `ops`. Their threads may still finish, but never
        write the state again; what each was creating is recorded as in progress, and the next
        plan re-reads it."""
        self.commit.close()
        for op in ops:
            self.outcome.abandoned.append(str(op.change.address))
            self.hooks.finished(op, "stopped waiting: the next plan re-reads it")
            if op.step is Step.DESTROY or op.change.action is Action.UPDATE:
                continue  # the object is recorded already
            try:
                desired = self.actions.resolve(op.change.address)
            except ProviderError:
                continue  # what it needed is not known: it cannot have been created
            name = desired.physical_name
            recorded = self.state.resources.get(str(op.change.address))
            if not isinstance(name, str) or (recorded is not None and recorded.physical_name == name):
                continue  # unnamed (a model package: its ClientToken finds it again), or recorded already
            try:
                self.actions.record(op.change, desired, Live(name, None, {}, None), status="creating")
            except Unrecorded as error:
                halt.unrecorded.append(error)
                self.outcome.unrecorded.append(error.done)

    def _run_one(self, op: Operation) -> None:
        with using(self.provider, str(op.change.address)):
            self._run_in_provider(op)

    def _run_in_provider(self, op: Operation) -> None:
        report = self._progress(op)
        if op.step is Step.DESTROY:
            self.hooks.started(op, "Destroying")
            self.actions.destroy(op.change, report)
        elif op.change.action is Action.UPDATE:
            self.hooks.started(op, "Modifying")
            self.actions.update(op.change, report)
        else:
            self.hooks.started(op, "Creating")
            self.actions.create(op.change, report)

    def _progress(self, op: Operation) -> Callable[[Progress], None]:
        def report(progress: Progress) -> None:
            if self.aborting.is_set():
                raise StoppedWaiting(f"{op.change.address}: stopped waiting (status {progress.status}); the next plan re-reads it")
            self.hooks.progress(op, progress)

        return report


def _by_priority(graph: OpGraph) -> OpGraph:
    """The operations, those with the longest chain of operations waiting on them first.

    Highest-level-first list scheduling: quick creates of models and configs that endpoints
    wait on are not left queued behind endpoint waits that fill every slot.
    """
    waiting_on: dict[OpKey, list[OpKey]] = {key: [] for key in graph}
    for key, (_, deps) in graph.items():
        for dep in deps:
            if dep in waiting_on:
                waiting_on[dep].append(key)
    sorter: graphlib.TopologicalSorter[OpKey] = graphlib.TopologicalSorter()
    for key, (_, deps) in graph.items():
        sorter.add(key, *(d for d in deps if d in graph))
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError:
        return dict(graph)  # run() reports what cannot be ordered
    level: dict[OpKey, int] = {}
    for key in reversed(order):
        level[key] = 1 + max((level[k] for k in waiting_on[key]), default=0)
    return dict(sorted(graph.items(), key=lambda item: -level[item[0]]))

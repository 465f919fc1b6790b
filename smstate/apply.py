"""The executor: runs a plan's operations in dependency order, a bounded number at a time.

State is saved after every completed operation, so a crash loses at most the operation in
flight; content-derived names and ownership tags let the next run adopt what it created.
SageMaker is believed only through reads: an endpoint update is a success only when
DescribeEndpoint shows the new config InService.
"""

from __future__ import annotations

import graphlib
import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .addresses import Address
from .changes import Action, Change, Plan
from .diff import ignored
from .errors import OwnershipError, ProviderError, SmstateError, StateWriteError, UnreachableError
from .evaluate import Desired
from .live import attributes, user_tags
from .operations import OpGraph, OpKey, Operation, Step, operations
from .outcome import Halt, Outcome, StoppedWaiting, Unrecorded, interrupted_message
from .ownership import refusal
from .provider import Live, Progress, Provider
from .resources import KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind
from .state import ObjectState, State, redact, redact_like
from .workers import Workers

READY_STATES = ("InService",)
_DONE = {"ready": "created", "creating": "creation started", "tainted": "created, and failed to become ready"}
BUSY_STATES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


POLL = 0.2
"""Seconds between looks at the interrupt flags while operations run: a second Ctrl-C is obeyed
even when every operation in flight sits in a read of a hung API."""


class Hooks(Protocol):
    def started(self, op: Operation, verb: str) -> None: ...

    def progress(self, op: Operation, progress: Progress) -> None: ...

    def finished(self, op: Operation, error: str | None) -> None: ...


Resolve = Callable[[Address, State], Desired]
StateSink = Callable[[State], None]


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
        self.state = state
        self._save_sink = save
        self.resolve = resolve
        self.hooks = hooks
        self.parallelism = max(1, parallelism)
        self.timeout = timeout
        self.default_timeout = default_timeout
        self.stopping = threading.Event()
        self.aborting = threading.Event()
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._changes = 0
        self._saved = 0
        self._on_disk = state.serial
        """The serial of the last save that reached the disk."""
        self._closed_for: int | None = None
        """Once apply stopped waiting: the one thread (the scheduler's) that may still save."""
        self.outcome = Outcome()

    # -- scheduling -------------------------------------------------------------------

    def run(self, plan: Plan) -> Outcome:
        graph = operations(plan.changes)
        done: set[OpKey] = set()
        failed: set[OpKey] = set()
        running: dict[Future[None], Operation] = {}
        halt = Halt()
        pending = _by_priority(graph)
        with Workers(max_workers=self.parallelism, thread_name_prefix="smstate") as pool:
            while pending or running:
                for key, (op, deps) in list(pending.items()):
                    if deps & failed:
                        failed.add(key)
                        del pending[key]
                        self.hooks.finished(op, "skipped: a dependency failed")
                        continue
                    if self.stopping.is_set() or halt or len(running) >= self.parallelism or not deps <= done:
                        continue
                    del pending[key]
                    running[pool.submit(self._run_one, op)] = op
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
        self.outcome.errors += halt.messages(self._on_disk)
        if self.stopping.is_set():
            self.outcome.errors.append(interrupted_message(len(pending), self.outcome.abandoned))
        return self.outcome

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
        with self._save_lock, self._lock:
            self._closed_for = threading.get_ident()
        for op in ops:
            self.outcome.abandoned.append(str(op.change.address))
            self.hooks.finished(op, "stopped waiting: the next plan re-reads it")
            if op.step is Step.DESTROY or op.change.action is Action.UPDATE:
                continue  # the object is recorded already
            desired = self._resolve(op.change.address)
            name = desired.physical_name
            recorded = self.state.resources.get(str(op.change.address))
            if not isinstance(name, str) or (recorded is not None and recorded.physical_name == name):
                continue  # unnamed (a model package: its ClientToken finds it again), or recorded already
            try:
                self._record(op.change, desired, Live(name, None, {}, None), status="creating")
            except Unrecorded as error:
                halt.unrecorded.append(error)
                self.outcome.unrecorded.append(error.done)

    def _run_one(self, op: Operation) -> None:
        change = op.change
        if op.step is Step.DESTROY:
            self.hooks.started(op, "Destroying")
            self._destroy(op, change)
        elif change.action is Action.UPDATE:
            self.hooks.started(op, "Modifying")
            self._update(op, change)
        else:
            self.hooks.started(op, "Creating")
            self._create(op, change)

    # -- state ------------------------------------------------------------------------

    def _commit(self, mutate: Callable[[State], None], done: str) -> None:
        """Change the state and return once a save that holds the change is on disk.

        Operations that finish while a save is being written are saved together by the next
        one (a group commit): each still returns only once its change is durable. The save
        writes a snapshot, so other operations go on changing the state meanwhile. `done` says
        what the operation did, for the error when the save fails (a full disk).
        """
        with self._lock:
            if self._closed_for not in (None, threading.get_ident()):
                raise StoppedWaiting(f"{done}, after apply stopped waiting for it; the next plan re-reads it")
            mutate(self.state)
            self._changes += 1
            mine = self._changes
        with self._save_lock:
            if self._saved >= mine:
                return
            with self._lock:
                self.state.serial += 1
                snapshot, covered = self.state.snapshot(), self._changes
            try:
                self._save_sink(snapshot)
            except StateWriteError as error:
                raise Unrecorded(done, error) from None
            self._saved, self._on_disk = covered, snapshot.serial

    def _resolve(self, address: Address) -> Desired:
        """Evaluate against the state as it is now; other operations write it concurrently."""
        with self._lock:
            snapshot = replace(self.state, resources=dict(self.state.resources))
        return self.resolve(address, snapshot)

    def _snapshot(self) -> list[tuple[str, ObjectState]]:
        with self._lock:
            return list(self.state.resources.items())

    def _progress(self, op: Operation) -> Callable[[Progress], None]:
        def report(progress: Progress) -> None:
            if self.aborting.is_set():
                raise StoppedWaiting(f"{op.change.address}: stopped waiting (status {progress.status}); the next plan re-reads it")
            self.hooks.progress(op, progress)

        return report

    # -- create -----------------------------------------------------------------------

    def _create(self, op: Operation, change: Change) -> None:
        address = change.address
        desired = self._resolve(address)
        kind = desired.kind
        name = desired.physical_name if isinstance(desired.physical_name, str) else None
        live = self._adopt(kind, address, name) if name else None
        if live is None:
            request = dict(desired.request)
            if kind.type == "model_packages":
                request["ClientToken"] = self._token(address, str(desired.spec_hash))
            try:
                created = self.provider.create(kind, name, request, self._tags(address, desired))
            except ProviderError as error:
                live = self._adopt_after_failure(kind, address, name, error)
            else:
                object_id = created.physical_name or created.arn
                live = self.provider.read(kind, object_id) if kind.type != "endpoints" else None
                if live is None and kind.type != "endpoints":
                    raise ProviderError(f"{address}: created {object_id} but cannot read it back")
        if kind.type == "endpoints":
            assert name is not None
            if live is None:
                created_live = self.provider.read(kind, name)
                if created_live is not None:
                    self._record(change, desired, created_live, status="creating")
            live = self._wait_ready(op, kind, name, desired)
            if live.status not in READY_STATES:
                self._record(change, desired, live, status="tainted")
                raise ProviderError(f"{address}: endpoint {name} is {live.status}: {live.failure_reason or 'no reason given'}")
            if live.description.get("EndpointConfigName") != desired.spec.get("endpoint_config_name"):
                self._record(change, desired, live)
                self._update(op, replace(change, action=Action.UPDATE))
                return
        assert live is not None
        self._record(change, desired, live)
        self.outcome.added += 1

    def _adopt(self, kind: Kind, address: Address, name: str) -> Live | None:
        """An object of this name that this state created earlier is adopted; any other is refused."""
        live = self.provider.read(kind, name)
        problem = refusal(kind, address, name, live, self.state.lineage)
        if problem is not None:
            raise OwnershipError(problem)
        return live

    def _adopt_after_failure(self, kind: Kind, address: Address, name: str | None, error: ProviderError) -> Live:
        """After a failed Create, the object if the API made it after all; else the failure stands.

        The answer to a Create can be lost after the API did the work (a connection reset, a
        5xx); botocore retries, and the retry meets the object the first attempt made.
        """
        try:
            live = self._adopt(kind, address, name) if name else None
        except ProviderError:
            live = None
        if live is None:
            raise error
        return live

    def _record(self, change: Change, desired: Desired, live: Live, status: str = "ready") -> None:
        address = str(change.address)
        kind = desired.kind
        spec = redact(desired.spec, self.state.hash_key)
        tags = redact(dict(desired.tags), self.state.hash_key)
        obj = ObjectState(
            type=kind.state_type,
            physical_name=live.physical_name,
            arn=live.arn,
            spec_hash=str(desired.spec_hash),
            spec=spec,
            tags=tags,
            attributes=redact_like(attributes(kind, live), {**spec, "tags": tags}, self.state.hash_key),
            dependencies=[str(d) for d in desired.dependencies],
            version=live.version,
            created=live.created,
            status=status,
        )

        def mutate(state: State) -> None:
            current = state.resources.get(address)
            deposed = list(current.deposed) if current else []
            if current is not None and current.status != "gone" and current.id != obj.id:
                deposed.append(replace(current, deposed=[]))
            obj.deposed = deposed
            state.resources[address] = obj

        self._commit(mutate, f"{address} ({obj.id}) {_DONE.get(status, 'created')}" if change.action is not Action.UPDATE
                     else f"{address} ({obj.id}) updated")

    def _tags(self, address: Address, desired: Desired) -> dict[str, str]:
        return {**desired.tags, OWNER_ADDRESS_TAG: str(address), OWNER_LINEAGE_TAG: self.state.lineage}

    def _token(self, address: Address, spec_hash: str) -> str:
        return hashlib.sha256(f"{self.state.lineage}:{address}:{spec_hash}".encode()).hexdigest()[:36]

    # -- update -----------------------------------------------------------------------

    def _update(self, op: Operation, change: Change) -> None:
        address = change.address
        desired = self._resolve(address)
        kind = desired.kind
        prior = self.state.resources[str(address)]
        live: Live | None = None
        if kind.type == "endpoints":
            live = self._update_endpoint(op, change, desired, prior)
        elif kind.mutable:
            request = _mutable_request(desired, prior)
            if request:
                self.provider.update(kind, prior.id, request)
        live_tags = prior.attributes.get("tags", {}) if prior.type != "model_package" else prior.tags
        kept = desired.lifecycle.ignore_changes  # ignored tags stay as they are live, like an ignored attribute
        wanted = redact(dict(desired.tags), self.state.hash_key)  # what state and live reads hold for sensitive values
        add = {k: v for k, v in desired.tags.items() if live_tags.get(k) != wanted[k] and not ignored(f"tags.{k}", kept)}
        remove = [k for k in live_tags if k not in desired.tags and not ignored(f"tags.{k}", kept)]
        if (add or remove) and prior.arn:
            self.provider.set_tags(prior.arn, add, remove)
        live = self.provider.read(kind, prior.id)
        if live is None:
            raise ProviderError(f"{address}: {prior.id} disappeared during the update")
        self._record(change, desired, live)
        self.outcome.changed += 1

    def _update_endpoint(self, op: Operation, change: Change, desired: Desired, prior: ObjectState) -> Live:
        kind = desired.kind
        name = prior.id
        live = self.provider.read(kind, name)
        if live is None:
            raise ProviderError(f"{change.address}: endpoint {name} no longer exists")
        if live.status in BUSY_STATES:
            live = self._wait_ready(op, kind, name, desired)
        wanted = desired.spec.get("endpoint_config_name")
        if live.description.get("EndpointConfigName") == wanted:
            return live
        old = live.description.get("EndpointConfigName")
        request = {"EndpointConfigName": wanted, **_update_settings(desired)}
        try:
            self.provider.update(kind, name, request)
        except ProviderError as error:
            self._update_under_way(kind, name, wanted, error)
        history: list[str] = []

        def remember(progress: Progress) -> None:
            history[:] = list(progress.history) or history
            self._progress(op)(progress)

        live = self.provider.wait(kind, name, "ready", self._budget(desired), remember)
        if live is None:
            raise ProviderError(f"{change.address}: endpoint {name} disappeared during the update")
        now = live.description.get("EndpointConfigName")
        if live.status in READY_STATES and now == wanted:
            return live
        rolled_back = replace(desired, spec={**desired.spec, "endpoint_config_name": now})
        self._record(change, rolled_back, live, status="ready" if live.status in READY_STATES else "tainted")
        stages = ("\n  stages: " + " -> ".join(history)) if history else ""
        what = f"rolled back to {now}" if now == old else f"ended {live.status} on {now}"
        raise ProviderError(
            f"{change.address}: the update of endpoint {name} to {wanted} failed and SageMaker {what}: "
            f"{live.failure_reason or 'no reason given'}{stages}"
        )

    def _update_under_way(self, kind: Kind, name: str, wanted: Any, error: ProviderError) -> None:
        """After a failed UpdateEndpoint, go on if the update to `wanted` started after all; else the failure stands.

        As with a Create, the answer can be lost after the API did the work, and botocore's retry
        then finds the endpoint busy with that very update.
        """
        try:
            live = self.provider.read(kind, name)
        except ProviderError:
            live = None
        if live is None:
            raise error
        pending = (live.description.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if (pending if live.status in BUSY_STATES else live.description.get("EndpointConfigName")) != wanted:
            raise error

    def _wait_ready(self, op: Operation, kind: Kind, name: str, desired: Desired) -> Live:
        live = self.provider.wait(kind, name, "ready", self._budget(desired), self._progress(op))
        if live is None:
            raise ProviderError(f"{op.change.address}: endpoint {name} disappeared while being created")
        return live

    def _budget(self, desired: Desired | None) -> float:
        if self.timeout is not None:
            return self.timeout
        policy = (desired.spec.get("deployment_config") or {}) if desired else {}
        blue_green = policy.get("blue_green_update_policy") or {}
        limit = blue_green.get("maximum_execution_timeout_in_seconds")
        if limit:
            return float(limit) + float(blue_green.get("termination_wait_in_seconds", 0)) + 600.0
        return self.default_timeout

    # -- destroy ----------------------------------------------------------------------

    def _destroy(self, op: Operation, change: Change) -> None:
        address = str(change.address)
        target = change.deposed or change.prior
        assert target is not None
        kind = KINDS[change.address.type]
        self._refuse_in_use(change, kind, target)
        if kind.type == "endpoints":
            live = self.provider.read(kind, target.id)
            if live is not None and live.status in BUSY_STATES and live.status != "Deleting":
                self.provider.wait(kind, target.id, "ready", self._budget(None), self._progress(op))
            if live is not None and live.status != "Deleting":
                self.provider.delete(kind, target.id)
            self.provider.wait(kind, target.id, "deleted", self._budget(None), self._progress(op))
        else:
            self.provider.delete(kind, target.id)

        def mutate(state: State) -> None:
            current = state.resources.get(address)
            if current is None:
                return
            if change.deposed is not None or current.id != target.id:
                current.deposed = [d for d in current.deposed if d.id != target.id]
                if current.status == "gone" and not current.deposed:
                    del state.resources[address]
            else:
                if current.deposed:
                    state.resources[address] = replace(current, status="gone")
                else:
                    del state.resources[address]

        self._commit(mutate, f"{address} ({target.id}) deleted")
        self.outcome.destroyed += 1

    def _refuse_in_use(self, change: Change, kind: Kind, target: ObjectState) -> None:
        """Never delete a config an endpoint is serving from, nor a model a kept config uses."""
        if kind.type == "endpoint_configs":
            for address, obj in self._snapshot():
                if obj.type != "endpoint" or obj.status == "gone":
                    continue
                live = self.provider.read(KINDS["endpoints"], obj.id)
                if live is not None and live.description.get("EndpointConfigName") == target.physical_name:
                    raise ProviderError(
                        f"{change.address}: not deleting endpoint config {target.physical_name}: "
                        f"endpoint {obj.id} ({address}) is still using it"
                    )
        if kind.type == "models":
            for address, obj in self._snapshot():
                for config in [obj, *obj.deposed] if obj.type == "endpoint_config" and obj.status != "gone" else []:
                    variants = config.spec.get("production_variants") or []
                    if any(v.get("model_name") == target.physical_name for v in variants if isinstance(v, dict)):
                        raise ProviderError(
                            f"{change.address}: not deleting model {target.physical_name}: "
                            f"endpoint config {config.physical_name} ({address}) still uses it"
                        )


def _mutable_request(desired: Desired, prior: ObjectState) -> dict[str, Any]:
    """UpdateModelPackage fields that differ from the live object."""
    from . import shapes

    out: dict[str, Any] = {}
    kind = desired.kind
    for name in sorted(kind.mutable):
        wanted, now = desired.spec.get(name), prior.attributes.get(name)
        if wanted == now or wanted is None:
            continue
        member = shapes.to_request(kind.create_shape, {name: wanted})
        out.update(member)
        if isinstance(wanted, dict) and isinstance(now, dict):
            gone = [k for k in now if k not in wanted]
            if gone:
                out[f"{next(iter(member))}ToRemove"] = gone
    return out


def _update_settings(desired: Desired) -> dict[str, Any]:
    from . import shapes

    update_shape = shapes.input_shape("UpdateEndpoint")
    fields = {k: v for k, v in desired.spec.items() if k in desired.kind.settings}
    converted: dict[str, Any] = shapes.to_request(update_shape, fields)
    return converted


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

"""One operation carried out: create, update or destroy one object, and record the result.

A create first adopts an object of the wanted name that this state made earlier (a run that
died before its save), and refuses one it did not make. A delete is refused while something
still uses the object (inuse.py). Every result is committed to the state before the
operation is reported finished (commit.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .addresses import Address, tag_value
from .changes import Action, Change
from .commit import Commit
from .diff import ignored
from .endpoints import READY_STATES, Endpoints
from .errors import OwnershipError, ProviderError
from .evaluate import Desired
from .inplace import InPlace
from .inuse import in_use, label
from .live import attributes
from .outcome import Outcome
from .ownership import refusal
from .provider import Live, Progress, Provider
from .resources import BY_STATE_TYPE, KINDS, OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind
from .state import ObjectState, State, redact, redact_like

_DONE = {"ready": "created", "creating": "creation started", "tainted": "created, and failed to become ready"}

Resolve = Callable[[Address, State], Desired]
"""address, state -> the planned resource, completed with what the state knows then (completion.py)."""
Report = Callable[[Progress], None]


@dataclass
class Actions:
    """Carries out operations against one provider, committing each result."""

    provider: Provider
    commit: Commit
    resolve_in: Resolve
    endpoints: Endpoints
    outcome: Outcome

    def resolve(self, address: Address) -> Desired:
        """The planned resource completed against the state as it is now; other operations write it concurrently."""
        return self.resolve_in(address, self.commit.copy())

    # -- create -----------------------------------------------------------------------

    def create(self, change: Change, report: Report) -> None:
        address = change.address
        desired = self.resolve(address)
        kind = desired.kind
        name = desired.physical_name if isinstance(desired.physical_name, str) else None
        live = self._adopt(kind, address, name) if name else None
        if live is None or kind.overwrites:  # an object this state may take is put again, as the config has it
            live = self._create_new(kind, address, name, desired)
        if kind.waited:
            assert name is not None
            self._endpoint_ready(change, desired, name, live, report)
            return
        assert live is not None
        self.record(change, desired, live)
        self.outcome.added += 1

    def _create_new(self, kind: Kind, address: Address, name: str | None, desired: Desired) -> Live | None:
        """Create the object; what it is once read back (None for an endpoint, read as it comes up)."""
        request = dict(desired.request)
        if kind.token_member:
            request[kind.token_member] = self._token(address, str(desired.spec_hash))
        try:
            created = self.provider.create(kind, name, request, self._tags(address, desired))
        except ProviderError as error:
            return self._adopt_after_failure(kind, address, name, error)
        if kind.waited:
            return None
        object_id = created.physical_name or created.arn
        live = self.provider.read(kind, object_id)
        if live is None:
            raise ProviderError(f"{address}: created {object_id} but cannot read it back")
        return live

    def _endpoint_ready(self, change: Change, desired: Desired, name: str, live: Live | None, report: Report) -> None:
        """Wait for a new endpoint to be InService (recorded as creating meanwhile, tainted if it fails)."""
        kind = desired.kind
        if live is None:
            created_live = self.provider.read(kind, name)
            if created_live is not None:
                self.record(change, desired, created_live, status="creating")
        live = self.endpoints.wait_ready(change, kind, name, desired, report)
        if live.status not in READY_STATES:
            self.record(change, desired, live, status="tainted")
            what = kind.state_type.replace("_", " ")
            raise ProviderError(f"{change.address}: {what} {name} is {live.status}: {live.failure_reason or 'no reason given'}")
        if live.description.get("EndpointConfigName") != desired.spec.get("endpoint_config_name"):
            self.record(change, desired, live)  # an adopted endpoint on an older config: move it
            self.update(replace(change, action=Action.UPDATE), report)
            return
        self.record(change, desired, live)
        self.outcome.added += 1

    def _adopt(self, kind: Kind, address: Address, name: str) -> Live | None:
        """An object of this name that this state created earlier is adopted; any other is refused."""
        live = self.provider.read(kind, name)
        problem = refusal(kind, address, name, live, self.commit.state.lineage)
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

    def record(self, change: Change, desired: Desired, live: Live, status: str = "ready") -> None:
        """Commit the object as it is live; the object it replaces (another id) becomes deposed."""
        address = str(change.address)
        obj = self._object(desired, live, status)

        def mutate(state: State) -> None:
            current = state.resources.get(address)
            deposed = list(current.deposed) if current else []
            if current is not None and current.status != "gone" and current.id != obj.id:
                deposed.append(replace(current, deposed=[]))
            obj.deposed = deposed
            state.resources[address] = obj

        done = f"{_DONE.get(status, 'created')}" if change.action is not Action.UPDATE else "updated"
        self.commit(mutate, f"{address} ({obj.id}) {done}")

    def _object(self, desired: Desired, live: Live, status: str) -> ObjectState:
        key = self.commit.state.hash_key
        spec = redact(desired.spec, key)
        tags = redact(dict(desired.tags), key)
        return ObjectState(
            type=desired.kind.state_type,
            physical_name=live.physical_name,
            arn=live.arn,
            spec_hash=str(desired.spec_hash),
            spec=spec,
            tags=tags,
            attributes=redact_like(attributes(desired.kind, live), {**spec, "tags": tags}, key),
            dependencies=[str(d) for d in desired.dependencies],
            version=live.version,
            created=live.created,
            modified=live.modified,
            status=status,
            provider=desired.provider,
        )

    def _tags(self, address: Address, desired: Desired) -> dict[str, str]:
        return {**desired.tags, OWNER_ADDRESS_TAG: tag_value(str(address)), OWNER_LINEAGE_TAG: self.commit.state.lineage}

    def _token(self, address: Address, spec_hash: str) -> str:
        return hashlib.sha256(f"{self.commit.state.lineage}:{address}:{spec_hash}".encode()).hexdigest()[:36]

    # -- update -----------------------------------------------------------------------

    def update(self, change: Change, report: Report) -> None:
        address = change.address
        desired = self.resolve(address)
        kind = desired.kind
        prior = self.commit.state.resources[str(address)]
        if kind.rollouts:
            self.endpoints.update(change, desired, prior, report, self.record)
        elif kind.rolls_in_place:
            in_place = InPlace(self.provider, self.endpoints.timeout, self.endpoints.default_timeout)
            in_place.update(change, desired, prior, report, self.record)
        elif kind.overwrites:
            self.provider.update(kind, prior.id, desired.request)
        elif kind.mutable:
            request = _mutable_request(desired, prior)
            if request:
                self.provider.update(kind, prior.id, request)
        self._update_tags(desired, prior)
        live = self.provider.read(kind, prior.id)
        if live is None:
            raise ProviderError(f"{address}: {prior.id} disappeared during the update")
        self.record(change, desired, live)
        self.outcome.changed += 1

    def _update_tags(self, desired: Desired, prior: ObjectState) -> None:
        live_tags = prior.attributes.get("tags", {}) if BY_STATE_TYPE[prior.type].tags_readable else prior.tags
        kept = desired.lifecycle.ignore_changes  # ignored tags stay as they are live, like an ignored attribute
        wanted = redact(dict(desired.tags), self.commit.state.hash_key)  # what state and live reads hold for sensitive values
        add = {k: v for k, v in desired.tags.items() if live_tags.get(k) != wanted[k] and not ignored(f"tags.{k}", kept)}
        remove = [k for k in live_tags if k not in desired.tags and not ignored(f"tags.{k}", kept)]
        if (add or remove) and prior.arn:
            self.provider.set_tags(prior.arn, add, remove)

    # -- destroy ----------------------------------------------------------------------

    def destroy(self, change: Change, report: Report) -> None:
        address = str(change.address)
        target = change.deposed or change.prior
        assert target is not None
        kind = KINDS[change.address.type]
        self._refuse_in_use(change, target)
        if kind.waited:
            self.endpoints.delete(kind, target.id, report)
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
            elif current.deposed:
                state.resources[address] = replace(current, status="gone")
            else:
                del state.resources[address]

        self.commit(mutate, f"{address} ({target.id}) deleted")
        self.outcome.destroyed += 1

    def _refuse_in_use(self, change: Change, target: ObjectState) -> None:
        """Never delete what a holder serves from (as read now), nor what a recorded object uses."""
        guarded = BY_STATE_TYPE[target.type]
        if not guarded.guard_in_use:
            return

        def holds(address: str, obj: ObjectState) -> list[tuple[str, Any]]:
            holder = BY_STATE_TYPE[obj.type]
            if not any(ref.target == guarded.type for ref in holder.references):
                return []  # it cannot be using this kind directly: no need to read it
            live = self.provider.read(holder, obj.id)
            return holder.uses(attributes(holder, live)) if live is not None else []

        user = in_use(dict(self.commit.items()), holds, transitive=False).of(target)
        if user is not None:
            raise ProviderError(f"{change.address}: not deleting {label(target)} {target.physical_name}: {user}")


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

"""Apply-time completion of what the plan computed.

The plan evaluates the config once. A value it could not know then (the ARN of a model
package version not yet registered, and the content-hashed names that depend on it) is
an `Unknown` naming its reference; once the objects it depends on exist, the state holds
it. Completing a planned resource fills those values from the state, then checks the
filled-in spec and names the object as evaluation does; nothing is read from the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from .addresses import Address
from .errors import ProviderError
from .evaluate import Desired, Digest, Keys, Known, check_name, hashed_request, name_for, spec_problems
from .references import Ref, RefError, dig, parse_ref, resolve
from .state import State
from .values import Unknown, has_secret, has_unknown, mark

Complete = Callable[[Address, State], Desired]
"""address, state -> the planned resource with what the state now knows filled in."""


def completer(planned: Mapping[Address, Desired], digest: Digest) -> Complete:
    """Completion of the plan's resources, against the state as it is when each operation starts."""

    def complete(address: Address, state: State) -> Desired:
        return _complete(planned, address, state, digest, set())

    return complete


def settled(planned: Mapping[Address, Desired], state: State, digest: Digest) -> dict[Address, Desired]:
    """Every planned resource completed as far as the state allows (after an apply, for the outputs)."""
    out = {}
    for address, desired in planned.items():
        try:
            out[address] = _complete(planned, address, state, digest, set())
        except ProviderError:
            out[address] = desired  # what failed to be created stays unknown
    return out


def _complete(planned: Mapping[Address, Desired], address: Address, state: State, digest: Digest,
              seen: set[Address]) -> Desired:
    desired = planned[address]
    if not _open(desired) or address in seen:
        return desired
    seen.add(address)
    lookup = _lookup(planned, state, digest, seen)
    spec = _filled(desired.spec, lookup)
    problems = spec_problems(desired.kind, spec, digest)
    if problems:
        path, message = problems[0]
        where = ".".join(str(p) for p in path)
        raise ProviderError(f"{address}: {where + ': ' if where else ''}{message}")
    keys = Keys(state.key, state.previous_key) if state.key is not None else Keys()
    spec_hash = keys.current.spec_digest(hashed_request(desired.kind, spec), digest, has_secret(spec))
    recorded = state.resources.get(str(address))
    known = Known(recorded.physical_name, recorded.arn, recorded.spec_hash, recorded.version) if recorded else None
    pinned = desired.physical_name if desired.pinned and isinstance(desired.physical_name, str) else None
    name = name_for(desired.kind, address, pinned, spec_hash, known, None)
    problem = check_name(desired.kind, name)
    if problem:
        raise ProviderError(f"{address}: {problem}")
    return replace(desired, spec=spec, spec_hash=spec_hash, physical_name=name, previous_hash=None)


def _open(desired: Desired) -> bool:
    return has_unknown(desired.spec) or isinstance(desired.physical_name, Unknown) or isinstance(desired.spec_hash, Unknown)


def _lookup(planned: Mapping[Address, Desired], state: State, digest: Digest, seen: set[Address]) -> Callable[[Ref], Any]:
    def lookup(ref: Ref) -> Any:
        address = ref.address
        if address is None or address not in planned:
            raise ProviderError(f"${{{ref.text}}} cannot be completed at apply time")
        attr = ref.attr[0]
        recorded = state.resources.get(str(address))
        if attr in ("name", "arn", "version"):
            value = getattr(recorded, "physical_name" if attr == "name" else attr) if recorded else None
            if value is None or recorded is None or recorded.status == "gone":
                raise ProviderError(f"${{{ref.text}}} is still unknown: {address} was not created")
            return dig(value, ref.attr[1:], ref)
        target = _complete(planned, address, state, digest, seen)
        found = target.tags if attr == "tags" else target.spec.get(attr)
        if found is None:
            raise ProviderError(f"${{{ref.text}}}: {address} has no attribute {attr!r}")
        try:
            return dig(found, ref.attr[1:], ref)
        except RefError as error:
            raise ProviderError(str(error)) from None

    return lookup


def _filled(value: Any, lookup: Callable[[Ref], Any]) -> Any:
    if isinstance(value, Unknown):
        found = resolve(value.source, lookup) if value.source is not None else lookup(parse_ref(value.ref))
        return mark(found) if value.sensitive else found
    if isinstance(value, dict):
        return type(value)({k: _filled(v, lookup) for k, v in value.items()})
    if isinstance(value, list):
        return type(value)([_filled(v, lookup) for v in value])
    return value

"""Reading every object in state through the provider, with as few calls as the API allows.

Objects of an immutable kind (models, endpoint configs): while a List call shows one with
the name and creation time recorded in state, it is the same object, so its description
need not be read again — only its tags, the one thing that can change. Listing costs one
call per 100 objects, so this is done when a kind has enough objects to pay for it.
Everything else (and any immutable object that looks recreated) is described.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .plan import LiveKey
from .provider import Live, Provider, Summary
from .resources import BY_STATE_TYPE
from .state import ObjectState, State
from .workers import Workers

LIST_FROM = 20
"""Objects of one kind from which one List pass is cheaper than describing each."""

Job = tuple[LiveKey, ObjectState]


def refresh_lives(provider: Provider, state: State, parallelism: int) -> dict[LiveKey, Live | None]:
    """Every object in state (and every deposed one) as the API has it now."""
    jobs: list[Job] = []
    for address, obj in state.resources.items():
        if obj.status != "gone":
            jobs.append(((address, -1), obj))
        jobs += [((address, i), deposed) for i, deposed in enumerate(obj.deposed)]
    if not jobs:
        return {}
    by_type: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_type[job[1].type].append(job)
    summaries: dict[str, dict[str, Summary]] = {}
    for type_name in (kind.state_type for kind in BY_STATE_TYPE.values() if kind.immutable):
        listed = by_type.get(type_name, [])
        if len(listed) >= LIST_FROM and all(obj.created for _, obj in listed):
            since = min(str(obj.created) for _, obj in listed)
            summaries[type_name] = provider.list_summaries(BY_STATE_TYPE[type_name], since)
    read = _reader(provider, summaries)
    with Workers(max_workers=max(1, min(parallelism, len(jobs)))) as pool:
        return dict(zip((key for key, _ in jobs), pool.map(read, (obj for _, obj in jobs))))


def _reader(provider: Provider, summaries: dict[str, dict[str, Summary]]) -> Callable[[ObjectState], Live | None]:
    def read(obj: ObjectState) -> Live | None:
        kind = BY_STATE_TYPE[obj.type]
        listed = summaries.get(obj.type)
        if listed is None:
            return provider.read(kind, obj.id)
        summary = listed.get(obj.id)
        if summary is None:
            return None
        if summary.created != obj.created or not obj.arn:
            return provider.read(kind, obj.id)
        return Live(obj.physical_name, summary.arn, {}, provider.tags_of(summary.arn), created=summary.created, unchanged=True)

    return read

"""Reading every object in state through the provider, with as few calls as the API allows.

A List call shows each object's name and creation time, 100 to a page; for some kinds also
when it last changed and its status (`Kind.listed_unchanged`). While an object's row shows
the creation time state recorded (and, where listed, the same last-modified time and a
settled status), it is the object state recorded, changed at most in its tags: it is not
described again. Its tags are read in bulk (`Provider.tags_in_bulk`, 100 ARNs a call), or
one by one where the bulk API does not answer for it. Every other object — one whose row
shows a change, one state recorded in progress, one missing from the list — is described.
Listing is done when a kind has enough objects in state to pay for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .plan import LiveKey
from .provider import Live, Provider, Summary
from .resources import BY_STATE_TYPE, Kind
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
    by_type: dict[str, list[ObjectState]] = defaultdict(list)
    for _, obj in jobs:
        by_type[obj.type].append(obj)
    summaries: dict[str, dict[str, Summary]] = {}
    tags: dict[str, dict[str, str]] = {}
    for type_name, objects in by_type.items():
        kind = BY_STATE_TYPE[type_name]
        if kind.listed_unchanged and len(objects) >= LIST_FROM and all(obj.created for obj in objects):
            since = min(str(obj.created) for obj in objects)
            summaries[type_name] = listed = provider.list_summaries(kind, since)
            if kind.tags_readable:
                tags.update(provider.tags_in_bulk([o.arn for o in objects if o.arn and _unchanged(kind, o, listed)]))
    read = _reader(provider, summaries, tags)
    with Workers(max_workers=max(1, min(parallelism, len(jobs)))) as pool:
        return dict(zip((key for key, _ in jobs), pool.map(read, (obj for _, obj in jobs))))


def _unchanged(kind: Kind, obj: ObjectState, listed: dict[str, Summary]) -> bool:
    """The object's List row proves it is the one state recorded, changed at most in its tags."""
    row = listed.get(obj.id)
    if row is None or not obj.arn or obj.status != "ready" or row.created != obj.created:
        return False
    if kind.immutable:
        return True
    settled = kind.statuses is None or row.status in kind.statuses.done
    return settled and obj.modified is not None and row.modified == obj.modified


def _reader(
    provider: Provider, summaries: dict[str, dict[str, Summary]], tags: dict[str, dict[str, str]]
) -> Callable[[ObjectState], Live | None]:
    def read(obj: ObjectState) -> Live | None:
        kind = BY_STATE_TYPE[obj.type]
        listed = summaries.get(obj.type)
        if listed is None or not _unchanged(kind, obj, listed):
            return provider.read(kind, obj.id)
        row = listed[obj.id]
        found = tags.get(row.arn.lower())
        return Live(
            obj.physical_name, row.arn, {},
            found if found is not None else provider.tags_of(row.arn),
            status=row.status, created=row.created, modified=row.modified, unchanged=True,
        )

    return read

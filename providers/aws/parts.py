"""Sub-objects put with their object: a scalable target's scaling policies and scheduled actions.

Each is put by name (the put overwrites), and one that is live but no longer wanted is deleted,
so the object ends with exactly the parts its spec names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smstate.resources import Kind

Call = Callable[..., Any]


def put_parts(call: Call, client: Any, kind: Kind, object_id: str, wanted_and_live: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Delete the parts no longer wanted, then put every wanted one."""
    wanted, live = wanted_and_live
    assert kind.id_request is not None
    ids = kind.id_request(object_id)
    for part in kind.parts:
        want = wanted.get(part.member) or {}
        for name in sorted(set(live.get(part.member) or {}) - set(want)):
            call(part.delete, f"{part.delete} {name}", client, **ids, **{part.name_member: name})
        for name, body in sorted(want.items()):
            call(part.put, f"{part.put} {name}", client, **body, **ids, **{part.name_member: name})

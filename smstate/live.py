"""Live objects in config form: what drift compares and what state records as `attributes`.

Only fields that the create request has are kept (times, statuses and ARNs are dropped),
empty maps and lists equal absent, and ownership tags are set apart from user tags.
"""

from __future__ import annotations

from typing import Any

from botocore import xform_name

from . import shapes
from .provider import Live
from .resources import OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind

OWNER_TAGS = (OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG)


def attributes(kind: Kind, live: Live) -> dict[str, Any]:
    """The comparable view of a live object."""
    if kind.view is not None:
        out: dict[str, Any] = kind.view(live.description)
    else:
        out = shapes.from_response(kind.create_shape, live.description) or {}
        for member in (kind.name_member, *kind.excluded):
            if member:
                out.pop(xform_name(member), None)
    tags = user_tags(live.tags)
    if tags:
        out["tags"] = tags
    return out


def user_tags(tags: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (tags or {}).items() if k not in OWNER_TAGS}

"""Live objects in config form: what drift compares and what state records as `attributes`.

Only fields that the create request has are kept (times, statuses and ARNs are dropped),
empty maps and lists equal absent, and ownership tags are set apart from user tags.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .provider import Live
from .resources import OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG, Kind

OWNER_TAGS = (OWNER_ADDRESS_TAG, OWNER_LINEAGE_TAG)
_VARIANT_FIELDS = ("VariantName", "CurrentWeight", "DesiredWeight", "CurrentInstanceCount", "DesiredInstanceCount")


def attributes(kind: Kind, live: Live) -> dict[str, Any]:
    """The comparable view of a live object."""
    if kind.type == "endpoints":
        out: dict[str, Any] = {"endpoint_config_name": live.description.get("EndpointConfigName")}
        variants = [
            {_snake(f): v[f] for f in _VARIANT_FIELDS if f in v} for v in live.description.get("ProductionVariants", [])
        ]
        if variants:
            out["production_variants"] = sorted(variants, key=lambda v: str(v.get("variant_name")))
    else:
        out = shapes.from_response(kind.create_shape, live.description) or {}
        if kind.name_member:
            out.pop(_snake(kind.name_member), None)
        out.pop("model_package_name", None)
    tags = user_tags(live.tags)
    if tags:
        out["tags"] = tags
    return out


def user_tags(tags: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (tags or {}).items() if k not in OWNER_TAGS}


def _snake(name: str) -> str:
    from botocore import xform_name

    return xform_name(name)

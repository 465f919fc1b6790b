"""Live descriptions in config form, for kinds whose Describe response is not shaped like their create request."""

from __future__ import annotations

from typing import Any

from botocore import xform_name

from . import shapes

_VARIANT_FIELDS = ("VariantName", "CurrentWeight", "DesiredWeight", "CurrentInstanceCount", "DesiredInstanceCount")


def component_view(description: dict[str, Any]) -> dict[str, Any]:
    """An inference component as drift compares it: where it runs, its specification and its copy count."""
    out: dict[str, Any] = {"endpoint_name": description.get("EndpointName")}
    if description.get("VariantName"):
        out["variant_name"] = description["VariantName"]
    spec = dict(description.get("Specification") or {})
    container = spec.get("Container")
    if isinstance(container, dict):
        image = (container.get("DeployedImage") or {}).get("SpecifiedImage")
        spec["Container"] = {**{k: v for k, v in container.items() if k != "DeployedImage"}, **({"Image": image} if image else {})}
    create = shapes.input_shape("CreateInferenceComponent")
    converted = shapes.from_response(create.members["Specification"], spec) if spec else None
    if converted:
        out["specification"] = converted
    copies = (description.get("RuntimeConfig") or {}).get("DesiredCopyCount")
    if copies is not None:
        out["runtime_config"] = {"copy_count": copies}
    return out


def endpoint_view(description: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as drift compares it: the config it serves from and each variant's traffic and size."""
    out: dict[str, Any] = {"endpoint_config_name": description.get("EndpointConfigName")}
    listed = description.get("ProductionVariants")
    variants = [
        {xform_name(f): v[f] for f in _VARIANT_FIELDS if f in v}
        for v in (listed if isinstance(listed, list) else [])
        if isinstance(v, dict)
    ]
    if variants:
        out["production_variants"] = sorted(variants, key=lambda v: str(v.get("variant_name")))
    return out

"""Live descriptions in config form, for kinds whose Describe response is not shaped like their create request."""

from __future__ import annotations

from typing import Any

from . import shapes


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

"""CreateInferenceComponent, DescribeInferenceComponent, ListInferenceComponents,
UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig,
DeleteInferenceComponent.

These calls answer at once and hand the slow part to `components` and
`component_updates`. A component needs an InService endpoint whose config names
no model (one made for inference components), an existing model (or a container
of its own), and room for its copies on the variant's instances. What the local
server cannot perform (accelerators, adapters on a base component, several
specifications, caching and scheduling settings) is refused rather than ignored.
"""

from __future__ import annotations

from typing import Any

from providers.local import component_updates, listing
from providers.local.api.context import Context, Params, Response, new_arn, stored, tag_list
from providers.local.api.endpoints import missing as missing_endpoint
from providers.local.api.models import missing as missing_model
from providers.local.errors import validation
from providers.local.registry import Record, Table, key_of

UNSUPPORTED = ("InstanceType", "BaseInferenceComponentName", "DataCacheConfig", "SchedulingConfig")


def _missing(ctx: Context, name: str) -> Exception:
    return validation(f'Could not find inference component "{ctx.arn(Table.INFERENCE_COMPONENT.value, name)}".')


def _record(ctx: Context, name: str) -> Record:
    return stored(ctx, Table.INFERENCE_COMPONENT, name, _missing)


def _endpoint(ctx: Context, name: str) -> Record:
    record = stored(ctx, Table.ENDPOINT, name, missing_endpoint)
    if any(v.get("ModelName") for v in record["deployed"]["config"]["ProductionVariants"]):
        raise validation(
            f"Endpoint {name} is not compatible with inference components: its endpoint config "
            f"{record['describe']['EndpointConfigName']} names models in its production variants."
        )
    status = record["describe"]["EndpointStatus"]
    if status != "InService":
        raise validation(f"Cannot add an inference component to endpoint {name} while it is {status}.")
    return record


def _variant(endpoint: Record, name: str | None) -> str:
    variants = [v["VariantName"] for v in endpoint["deployed"]["config"]["ProductionVariants"]]
    if name is None:
        if len(variants) != 1:
            raise validation(f"VariantName is required: endpoint has the variants {', '.join(variants)}.")
        return variants[0]
    if name not in variants:
        raise validation(f"Variant {name} not found on endpoint {endpoint['describe']['EndpointName']}.")
    return name


def _specification(ctx: Context, params: Params) -> tuple[dict[str, Any], dict[str, Any]]:
    """The specification, checked, and the DescribeModel-shaped model its copies run."""
    if params.get("Specifications"):
        raise validation("Specifications (several per component) is not supported by the local SageMaker; use Specification.")
    spec = params.get("Specification")
    if not spec:
        raise validation("Specification is required.")
    shown = [f for f in UNSUPPORTED if spec.get(f)]
    if (spec.get("ComputeResourceRequirements") or {}).get("NumberOfAcceleratorDevicesRequired"):
        shown.append("ComputeResourceRequirements.NumberOfAcceleratorDevicesRequired")
    if shown:
        raise validation(f"The local SageMaker cannot perform Specification.{', '.join(shown)}.")
    if not spec.get("ComputeResourceRequirements"):
        raise validation("Specification.ComputeResourceRequirements is required.")
    if bool(spec.get("ModelName")) == bool(spec.get("Container")):
        raise validation("Specification needs exactly one of ModelName and Container.")
    if spec.get("ModelName"):
        model = ctx.registry.get(Table.MODEL, key_of(spec["ModelName"]))
        if model is None:
            raise missing_model(ctx, spec["ModelName"])
        return spec, dict(model["describe"])
    container = spec["Container"]
    if not container.get("Image"):
        raise validation("Specification.Container.Image is required.")
    primary = {"Image": container["Image"], "Environment": container.get("Environment") or {}, "Mode": "SingleModel"}
    if container.get("ArtifactUrl"):
        primary["ModelDataUrl"] = container["ArtifactUrl"]
    return spec, {"ModelName": params["InferenceComponentName"], "PrimaryContainer": primary}


def _summary(spec: dict[str, Any], when: float) -> dict[str, Any]:
    """The Specification as DescribeInferenceComponent shows it (a container's image as deployed)."""
    out = dict(spec)
    container = spec.get("Container")
    if container:
        out["Container"] = {k: v for k, v in container.items() if k != "Image"}
        image = container["Image"]
        out["Container"]["DeployedImage"] = {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": when}
    return out


async def create_inference_component(ctx: Context, params: Params) -> Response:
    name = params["InferenceComponentName"]
    component_arn = new_arn(ctx, Table.INFERENCE_COMPONENT, name, "inference component")
    endpoint = _endpoint(ctx, params["EndpointName"])
    spec, model = _specification(ctx, params)
    runtime = params.get("RuntimeConfig") or {}
    if not runtime.get("CopyCount"):
        raise validation("RuntimeConfig.CopyCount is required.")
    describe = {
        "InferenceComponentName": name,
        "InferenceComponentArn": component_arn,
        "EndpointName": endpoint["describe"]["EndpointName"],
        "EndpointArn": endpoint["describe"]["EndpointArn"],
        "VariantName": _variant(endpoint, params.get("VariantName")),
        "RuntimeConfig": {"DesiredCopyCount": int(runtime["CopyCount"])},
        "InferenceComponentStatus": "Creating",
        "CreationTime": ctx.now,
        "LastModifiedTime": ctx.now,
    }
    record = {"describe": describe, "tags": tag_list(params), "specification": spec, "model": model}
    components = ctx.endpoints.components
    components.reserve(record, components.needs(record))
    ctx.registry.put(Table.INFERENCE_COMPONENT, key_of(name), record)
    components.begin_create(name)
    return {"InferenceComponentArn": component_arn}


async def describe_inference_component(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["InferenceComponentName"])
    described = dict(record["describe"])
    described["Specification"] = _summary(record["specification"], described["CreationTime"])
    current = ctx.endpoints.components.copies(described["InferenceComponentName"])
    described["RuntimeConfig"] = {**described["RuntimeConfig"], "CurrentCopyCount": current}
    return described


async def list_inference_components(ctx: Context, params: Params) -> Response:
    fields = ("InferenceComponentName", "InferenceComponentArn", "EndpointName", "EndpointArn", "VariantName",
              "InferenceComponentStatus", "CreationTime", "LastModifiedTime")  # fmt: skip
    summaries = (
        {k: r["describe"][k] for k in fields if k in r["describe"]} for r in ctx.registry.values(Table.INFERENCE_COMPONENT)
    )
    wanted = {"InferenceComponentStatus": params.get("StatusEquals"), "EndpointName": params.get("EndpointNameEquals"),
              "VariantName": params.get("VariantNameEquals")}  # fmt: skip
    checks = [lambda s, f=f, v=v: s.get(f) == v for f, v in wanted.items() if v]
    return listing.page(params, summaries, "InferenceComponentName", "InferenceComponents", checks)


async def update_inference_component(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["InferenceComponentName"])
    name = record["describe"]["InferenceComponentName"]
    if params.get("Specification") or params.get("Specifications"):
        spec, model = _specification(ctx, {**params, "InferenceComponentName": name})
    else:
        spec, model = record["specification"], record["model"]
    copies = int((params.get("RuntimeConfig") or {}).get("CopyCount") or record["describe"]["RuntimeConfig"]["DesiredCopyCount"])
    component_updates.begin_update(ctx.endpoints.components, name, spec, model, copies, params.get("DeploymentConfig"))
    return {"InferenceComponentArn": record["describe"]["InferenceComponentArn"]}


async def update_runtime_config(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["InferenceComponentName"])
    name = record["describe"]["InferenceComponentName"]
    ctx.endpoints.components.set_copy_count(name, int(params["DesiredRuntimeConfig"]["CopyCount"]))
    return {"InferenceComponentArn": record["describe"]["InferenceComponentArn"]}


async def delete_inference_component(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["InferenceComponentName"])
    if record["describe"]["InferenceComponentStatus"] != "Deleting":
        await ctx.endpoints.components.begin_delete(record["describe"]["InferenceComponentName"])
    return {}


OPERATIONS = {
    "CreateInferenceComponent": create_inference_component,
    "DescribeInferenceComponent": describe_inference_component,
    "ListInferenceComponents": list_inference_components,
    "UpdateInferenceComponent": update_inference_component,
    "UpdateInferenceComponentRuntimeConfig": update_runtime_config,
    "DeleteInferenceComponent": delete_inference_component,
}

"""CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs,
DeleteEndpointConfig.

A config must name existing models, and each of its variants needs either an
instance type and count or a serverless config (served by one instance here).
`InitialVariantWeight` defaults to 1.0, and DescribeEndpointConfig says so, as
SageMaker does. Deleting a config that a live endpoint uses is allowed, as in
SageMaker: the endpoint keeps serving its own copy.
"""

from __future__ import annotations

from typing import Any

from providers.local import listing
from providers.local.api.context import Context, Params, Response, tag_list
from providers.local.api.models import missing as missing_model
from providers.local.errors import validation
from providers.local.registry import Kind, key_of

KIND = "endpoint-config"


def missing(ctx: Context, name: str) -> Exception:
    return validation(f'Could not find endpoint configuration "{ctx.arn(KIND, name)}".')


def _variant(ctx: Context, variant: dict[str, Any]) -> dict[str, Any]:
    name = variant["VariantName"]
    model = variant.get("ModelName")
    if not model:
        raise validation(f"ModelName is required for production variant {name}.")
    if ctx.registry.get(Kind.MODEL, key_of(model)) is None:
        raise missing_model(ctx, model)
    serverless = variant.get("ServerlessConfig")
    if serverless and (variant.get("InstanceType") or variant.get("InitialInstanceCount")):
        raise validation(
            f"Production variant {name} specifies ServerlessConfig together with InstanceType or "
            "InitialInstanceCount; a serverless variant takes neither."
        )
    if serverless and serverless.get("ProvisionedConcurrency", 0) > serverless["MaxConcurrency"]:
        raise validation(
            f"Production variant {name}: ProvisionedConcurrency ({serverless['ProvisionedConcurrency']}) must be "
            f"less than or equal to MaxConcurrency ({serverless['MaxConcurrency']})."
        )
    if not serverless and not (variant.get("InstanceType") and variant.get("InitialInstanceCount")):
        raise validation(
            f"Production variant {name} needs InstanceType and InitialInstanceCount, or ServerlessConfig."
        )
    filled = dict(variant)
    filled.setdefault("InitialVariantWeight", 1.0)
    return filled


async def create_endpoint_config(ctx: Context, params: Params) -> Response:
    name = params["EndpointConfigName"]
    config_arn = ctx.arn(KIND, name)
    if ctx.registry.get(Kind.ENDPOINT_CONFIG, key_of(name)) is not None:
        raise validation(f'Cannot create already existing endpoint configuration "{config_arn}".')
    variants = params["ProductionVariants"]
    names = [v["VariantName"] for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(f"Production variant names must be unique; repeated: {', '.join(duplicates)}.")
    describe = {k: v for k, v in params.items() if k != "Tags"}
    describe["ProductionVariants"] = [_variant(ctx, v) for v in variants]
    describe.update(EndpointConfigArn=config_arn, CreationTime=ctx.now)
    ctx.registry.put(Kind.ENDPOINT_CONFIG, key_of(name), {"describe": describe, "tags": tag_list(params)})
    return {"EndpointConfigArn": config_arn}


async def describe_endpoint_config(ctx: Context, params: Params) -> Response:
    record = ctx.registry.get(Kind.ENDPOINT_CONFIG, key_of(params["EndpointConfigName"]))
    if record is None:
        raise missing(ctx, params["EndpointConfigName"])
    return dict(record["describe"])


async def list_endpoint_configs(ctx: Context, params: Params) -> Response:
    summaries = (
        {k: r["describe"][k] for k in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")}
        for r in ctx.registry.values(Kind.ENDPOINT_CONFIG)
    )
    return listing.page(params, summaries, "EndpointConfigName", "EndpointConfigs")


async def delete_endpoint_config(ctx: Context, params: Params) -> Response:
    key = key_of(params["EndpointConfigName"])
    if ctx.registry.get(Kind.ENDPOINT_CONFIG, key) is None:
        raise missing(ctx, params["EndpointConfigName"])
    ctx.registry.delete(Kind.ENDPOINT_CONFIG, key)
    return {}


OPERATIONS = {
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "DeleteEndpointConfig": delete_endpoint_config,
}

"""CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs,
DeleteEndpointConfig.

A config must name existing models, and each of its variants needs either an
instance type and count or a serverless config (served by one instance here).
A config whose variants name no model is for inference components: it needs an
execution role, and its variants an instance type and count.
`InitialVariantWeight` defaults to 1.0, and DescribeEndpointConfig says so, as
SageMaker does. Deleting a config that a live endpoint uses is allowed, as in
SageMaker: the endpoint keeps serving its own copy.
"""

from __future__ import annotations

from typing import Any

from providers.local.api.context import Context, Params, Response, new_arn, readers, stored, tag_list
from providers.local.api.models import missing as missing_model
from providers.local.errors import validation
from providers.local.registry import Table, key_of


def missing(ctx: Context, name: str) -> Exception:
    return validation(f'Could not find endpoint configuration "{ctx.arn(Table.ENDPOINT_CONFIG.value, name)}".')


def _variant(ctx: Context, variant: dict[str, Any]) -> dict[str, Any]:
    name = variant["VariantName"]
    model = variant.get("ModelName")
    if not model:
        return _component_variant(variant)
    if ctx.registry.get(Table.MODEL, key_of(model)) is None:
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


def _component_variant(variant: dict[str, Any]) -> dict[str, Any]:
    """A variant whose instances host inference components rather than one model."""
    name = variant["VariantName"]
    if variant.get("ServerlessConfig") or not (variant.get("InstanceType") and variant.get("InitialInstanceCount")):
        raise validation(
            f"Production variant {name} has no ModelName: inference components need InstanceType and InitialInstanceCount."
        )
    filled = dict(variant)
    filled.setdefault("InitialVariantWeight", 1.0)
    return filled


def _check_components(params: Params) -> None:
    """A config for inference components names no model at all, and has an execution role."""
    variants = params["ProductionVariants"]
    without = [v["VariantName"] for v in variants if not v.get("ModelName")]
    if without and len(without) != len(variants):
        raise validation("Either all or none of the production variants must specify a ModelName.")
    if without and not params.get("ExecutionRoleArn"):
        raise validation("ExecutionRoleArn is required when production variants do not specify a ModelName.")


async def create_endpoint_config(ctx: Context, params: Params) -> Response:
    name = params["EndpointConfigName"]
    config_arn = new_arn(ctx, Table.ENDPOINT_CONFIG, name, "endpoint configuration")
    variants = params["ProductionVariants"]
    names = [v["VariantName"] for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(f"Production variant names must be unique; repeated: {', '.join(duplicates)}.")
    _check_components(params)
    describe = {k: v for k, v in params.items() if k != "Tags"}
    describe["ProductionVariants"] = [_variant(ctx, v) for v in variants]
    describe.update(EndpointConfigArn=config_arn, CreationTime=ctx.now)
    ctx.registry.put(Table.ENDPOINT_CONFIG, key_of(name), {"describe": describe, "tags": tag_list(params)})
    return {"EndpointConfigArn": config_arn}


describe_endpoint_config, list_endpoint_configs = readers(
    Table.ENDPOINT_CONFIG, "EndpointConfigName", "EndpointConfigArn", "EndpointConfigs", missing
)


async def delete_endpoint_config(ctx: Context, params: Params) -> Response:
    stored(ctx, Table.ENDPOINT_CONFIG, params["EndpointConfigName"], missing)
    ctx.registry.delete(Table.ENDPOINT_CONFIG, key_of(params["EndpointConfigName"]))
    return {}


OPERATIONS = {
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "DeleteEndpointConfig": delete_endpoint_config,
}

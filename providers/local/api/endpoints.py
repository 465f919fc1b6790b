"""CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint,
UpdateEndpoint, UpdateEndpointWeightsAndCapacities.

These calls answer at once, as SageMaker's do: they record the request and hand
the slow part (starting, rolling out, stopping model servers) to `lifecycle` and
`updates`, and DescribeEndpoint reports progress. A create or update takes a
snapshot of the endpoint config and its models at call time; later edits or
deletions of those objects do not touch the endpoint.
"""

from __future__ import annotations

from providers.local import listing, updates
from providers.local.api import model_sources
from providers.local.api.context import Context, Params, Response, new_arn, stored, tag_list
from providers.local.api.endpoint_configs import missing as missing_config
from providers.local.api.models import missing as missing_model
from providers.local.deployment import Snapshot
from providers.local.errors import validation
from providers.local.registry import Record, Table, key_of
from providers.local.views import initial_props


def missing(ctx: Context, name: str) -> Exception:
    return validation(f'Could not find endpoint "{ctx.arn(Table.ENDPOINT.value, name)}".')


def _record(ctx: Context, name: str) -> Record:
    return stored(ctx, Table.ENDPOINT, name, missing)


def _snapshot(ctx: Context, config_name: str) -> Snapshot:
    config = ctx.registry.get(Table.ENDPOINT_CONFIG, key_of(config_name))
    if config is None:
        raise missing_config(ctx, config_name)
    models = {}
    described = config["describe"]
    for variant in described["ProductionVariants"] + (described.get("ShadowProductionVariants") or []):
        if not variant.get("ModelName"):
            continue  # a variant for inference components
        model = ctx.registry.get(Table.MODEL, key_of(variant["ModelName"]))
        if model is None:
            raise missing_model(ctx, variant["ModelName"])
        models[variant["ModelName"]] = model_sources.hosted(model["describe"], model.get("resolved"))
    return {"config": config["describe"], "models": models}


async def create_endpoint(ctx: Context, params: Params) -> Response:
    name = params["EndpointName"]
    endpoint_arn = new_arn(ctx, Table.ENDPOINT, name, "endpoint")
    snapshot = _snapshot(ctx, params["EndpointConfigName"])
    describe = {
        "EndpointName": name,
        "EndpointArn": endpoint_arn,
        "EndpointConfigName": params["EndpointConfigName"],
        "EndpointStatus": "Creating",
        "CreationTime": ctx.now,
        "LastModifiedTime": ctx.now,
    }
    if params.get("DeploymentConfig"):
        describe["LastDeploymentConfig"] = params["DeploymentConfig"]
    for field in ("DataCaptureConfig", "AsyncInferenceConfig", "ExplainerConfig", "ShadowProductionVariants"):
        if snapshot["config"].get(field):
            describe[field] = snapshot["config"][field]
    record = {
        "describe": describe,
        "tags": tag_list(params),
        "deployed": snapshot,
        "variants": initial_props(snapshot),
    }
    ctx.registry.put(Table.ENDPOINT, key_of(name), record)
    ctx.endpoints.begin_create(name)
    return {"EndpointArn": endpoint_arn}


async def describe_endpoint(ctx: Context, params: Params) -> Response:
    return ctx.endpoints.describe(_record(ctx, params["EndpointName"]))


async def list_endpoints(ctx: Context, params: Params) -> Response:
    fields = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
    summaries = ({k: r["describe"][k] for k in fields} for r in ctx.registry.values(Table.ENDPOINT))
    status = params.get("StatusEquals")
    checks = [lambda s: s["EndpointStatus"] == status] if status else []
    return listing.page(params, summaries, "EndpointName", "Endpoints", checks)


#: Statuses in which SageMaker refuses DeleteEndpoint: an update is in progress.
UPDATING = frozenset({"Updating", "SystemUpdating", "RollingBack"})


async def delete_endpoint(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["EndpointName"])
    attached = [r["describe"]["InferenceComponentName"] for r in ctx.endpoints.components.on_endpoint(params["EndpointName"])]
    if attached:
        raise validation(
            f"Endpoint {record['describe']['EndpointName']} has inference components ({', '.join(sorted(attached))}); "
            "delete them before the endpoint."
        )
    if record["describe"]["EndpointStatus"] in UPDATING:
        raise validation(f'Cannot update in-progress endpoint "{record["describe"]["EndpointArn"]}".')
    if record["describe"]["EndpointStatus"] != "Deleting":
        await ctx.endpoints.begin_delete(record["describe"]["EndpointName"])
    return {}


async def update_endpoint(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["EndpointName"])
    snapshot = _snapshot(ctx, params["EndpointConfigName"])
    updates.begin_update(ctx.endpoints, record["describe"]["EndpointName"], snapshot, params)
    return {"EndpointArn": record["describe"]["EndpointArn"]}


async def update_weights_and_capacities(ctx: Context, params: Params) -> Response:
    record = _record(ctx, params["EndpointName"])
    updates.begin_scale(ctx.endpoints, record["describe"]["EndpointName"], params["DesiredWeightsAndCapacities"])
    return {"EndpointArn": record["describe"]["EndpointArn"]}


OPERATIONS = {
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "ListEndpoints": list_endpoints,
    "DeleteEndpoint": delete_endpoint,
    "UpdateEndpoint": update_endpoint,
    "UpdateEndpointWeightsAndCapacities": update_weights_and_capacities,
}

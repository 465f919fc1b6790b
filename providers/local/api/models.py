"""CreateModel, DescribeModel, ListModels, DeleteModel.

Models are immutable, as in SageMaker. What their containers point at (model
packages, `s3://` artifacts) must exist: see `model_sources`. A container's
`ModelDataUrl` may be `s3://` or `https://` as on AWS, and, on the local server
only, `file://` or an absolute path on this machine (a relative path would depend
on the server's working directory, so it is refused). Deleting a model that an
endpoint config or a live endpoint uses is allowed, as in SageMaker: a live
endpoint keeps its own copy of what it deployed.
"""

from __future__ import annotations

import os
from typing import Any

from providers.local.api import model_sources
from providers.local.api.context import Context, Params, Response, new_arn, present, readers, stored, tag_list
from providers.local.errors import validation
from providers.local.registry import Table, key_of

_LOCAL_SCHEMES = ("s3://", "https://", "file://")


def missing(ctx: Context, name: str) -> Exception:
    return validation(f'Could not find model "{ctx.arn("model", name)}".')


def check_model_data_url(url: str, where: str) -> None:
    if url.startswith("file://"):
        path = url[len("file://") :]
        if not os.path.isabs(path):
            raise validation(f"{where}: a file:// ModelDataUrl must name an absolute path, got {url!r}.")
    elif not url.startswith(_LOCAL_SCHEMES) and not os.path.isabs(url):
        raise validation(
            f"{where}: ModelDataUrl must be an s3://, https:// or file:// URL or an absolute path, got {url!r}."
        )


def _container(container: dict[str, Any], where: str) -> dict[str, Any]:
    if container.get("ModelDataUrl"):
        check_model_data_url(container["ModelDataUrl"], where)
    filled = {"Mode": "SingleModel", "Environment": {}}
    filled.update(container)
    return filled


async def create_model(ctx: Context, params: Params) -> Response:
    name = params["ModelName"]
    model_arn = new_arn(ctx, Table.MODEL, name, "model")
    primary, containers = params.get("PrimaryContainer"), params.get("Containers")
    if primary is None and not containers:
        raise validation("Either PrimaryContainer or Containers must be specified.")
    if primary is not None and containers:
        raise validation("Only one of PrimaryContainer and Containers can be specified.")
    describe: dict[str, Any] = {"ModelName": name}
    if primary is not None:
        describe["PrimaryContainer"] = _container(primary, "PrimaryContainer")
    else:
        describe["Containers"] = [_container(c, f"Containers.{i}") for i, c in enumerate(containers or [], 1)]
    given = [describe["PrimaryContainer"]] if primary is not None else describe["Containers"]
    resolved = model_sources.resolve(ctx, given)
    await model_sources.check_artifacts(resolved)
    describe.update(present(params, "InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig"))
    describe.update(
        CreationTime=ctx.now,
        ModelArn=model_arn,
        EnableNetworkIsolation=bool(params.get("EnableNetworkIsolation", False)),
    )
    record: dict[str, Any] = {"describe": describe, "tags": tag_list(params)}
    if resolved != given:
        record["resolved"] = resolved
    ctx.registry.put(Table.MODEL, key_of(name), record)
    return {"ModelArn": model_arn}


describe_model, list_models = readers(Table.MODEL, "ModelName", "ModelArn", "Models", missing)


async def delete_model(ctx: Context, params: Params) -> Response:
    stored(ctx, Table.MODEL, params["ModelName"], missing)
    ctx.registry.delete(Table.MODEL, key_of(params["ModelName"]))
    await ctx.endpoints.prune_artifacts()
    return {}


OPERATIONS = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "ListModels": list_models,
    "DeleteModel": delete_model,
}

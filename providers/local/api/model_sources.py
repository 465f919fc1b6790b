"""What a model's containers point at: model packages and S3 artifacts.

CreateModel checks both as SageMaker does. A container naming a `ModelPackageName`
(an ARN, `group/version` or an unversioned package's name) takes its image and
artifact from the package's `InferenceSpecification`; a missing package, or a
version whose approval status is not `Approved`, is refused. An `s3://` artifact
that does not exist is refused with SageMaker's "Could not find model data". A
multi-model container's artifact is a prefix that models are added to later, so
only its bucket must exist.

DescribeModel answers the containers as they were given; the endpoint hosts the
resolved ones (`hosted`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from providers.local import s3
from providers.local.api.context import Context
from providers.local.errors import validation
from providers.local.registry import Record, Table, key_of

Container = dict[str, Any]


def artifact_url(container: Container) -> str | None:
    source = ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
    return container.get("ModelDataUrl") or source


def package_record(ctx: Context, reference: str) -> Record:
    """A model package by ARN, `group/version` or name; SageMaker's error if there is none."""
    name = reference.split(":model-package/", 1)[-1]
    record = ctx.registry.get(Table.MODEL_PACKAGE, key_of(name))
    if record is None:
        raise validation(f"ModelPackage {reference} does not exist.")
    return record


def resolve(ctx: Context, containers: list[Container]) -> list[Container]:
    """The containers with every model package replaced by its inference containers."""
    resolved: list[Container] = []
    for container in containers:
        name = container.get("ModelPackageName")
        if not name:
            resolved.append(container)
            continue
        describe = package_record(ctx, name)["describe"]
        status = describe.get("ModelApprovalStatus")
        if status is not None and status != "Approved":
            raise validation(
                f"Model package {describe['ModelPackageArn']} is in {status} status; "
                "only an Approved model package version can be deployed."
            )
        spec = describe.get("InferenceSpecification") or {}
        for packaged in spec.get("Containers") or []:
            merged = {k: v for k, v in packaged.items() if k not in ("ProductId", "ModelInput", "Framework")}
            merged["Environment"] = {**(packaged.get("Environment") or {}), **(container.get("Environment") or {})}
            merged["Mode"] = container.get("Mode", "SingleModel")
            resolved.append(merged)
    return resolved


async def check_artifacts(containers: list[Container]) -> None:
    """Refuse `s3://` artifacts that do not exist, or that cannot be read."""
    for container in containers:
        url = artifact_url(container)
        if not url or not url.startswith("s3://"):
            continue
        check = s3.bucket_exists if container.get("Mode") == "MultiModel" else s3.exists
        try:
            found = await asyncio.to_thread(check, url)
        except s3.S3Error as exc:
            raise validation(f"Could not access model data at {url}. {exc}.") from None
        if not found:
            raise validation(f"Could not find model data at {url}.")


def hosted(describe: dict[str, Any], resolved: list[Container] | None) -> dict[str, Any]:
    """The DescribeModel-shaped model an endpoint hosts: its resolved containers."""
    if not resolved:
        return describe
    model = {k: v for k, v in describe.items() if k not in ("PrimaryContainer", "Containers")}
    if len(resolved) == 1 and "PrimaryContainer" in describe:
        model["PrimaryContainer"] = resolved[0]
    else:
        model["Containers"] = resolved
    return model

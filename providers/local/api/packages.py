"""Model package groups and model packages (the model registry).

A package created in a group is a *version*: versions count 1, 2, ... per
group and are never reused, even after a deletion; its ARN is
`.../model-package/<group>/<version>` and its `ModelPackageName` is the group's
name. A package created by name alone is unversioned. A `ClientToken` makes
creation idempotent: the same token in the same group (or under the same name)
returns the package it first created. A group that still holds versions cannot
be deleted. Packages are registered at once: their status is `Completed`.
"""

from __future__ import annotations

from typing import Any

from providers.local import listing
from providers.local.api.context import Context, Params, Response, new_arn, tag_list
from providers.local.api.model_sources import package_record
from providers.local.api.models import check_model_data_url
from providers.local.errors import conflict, validation
from providers.local.registry import Record, Table, key_of

GROUP = "model-package-group"
PACKAGE = "model-package"
_NOT_ECHOED = {"Tags", "ClientToken", "ModelPackageName", "ModelPackageGroupName"}


def _name_of(arn_or_name: str, resource_type: str) -> str:
    marker = f":{resource_type}/"
    return arn_or_name.split(marker, 1)[1] if marker in arn_or_name else arn_or_name


def _group(ctx: Context, arn_or_name: str) -> Record:
    name = _name_of(arn_or_name, GROUP)
    record = ctx.registry.get(Table.MODEL_PACKAGE_GROUP, key_of(name))
    if record is None:
        raise validation(f"ModelPackageGroup {name} does not exist.")
    return record


def _package(ctx: Context, arn_or_name: str) -> tuple[str, Record]:
    return key_of(_name_of(arn_or_name, PACKAGE)), package_record(ctx, arn_or_name)


async def create_group(ctx: Context, params: Params) -> Response:
    name = params["ModelPackageGroupName"]
    group_arn = new_arn(ctx, Table.MODEL_PACKAGE_GROUP, name, "model package group")
    describe = {k: v for k, v in params.items() if k != "Tags"}
    describe.update(
        ModelPackageGroupArn=group_arn, CreationTime=ctx.now, CreatedBy={}, ModelPackageGroupStatus="Completed"
    )
    record = {"describe": describe, "tags": tag_list(params), "last_version": 0}
    ctx.registry.put(Table.MODEL_PACKAGE_GROUP, key_of(name), record)
    return {"ModelPackageGroupArn": group_arn}


async def describe_group(ctx: Context, params: Params) -> Response:
    return dict(_group(ctx, params["ModelPackageGroupName"])["describe"])


async def list_groups(ctx: Context, params: Params) -> Response:
    fields = ("ModelPackageGroupName", "ModelPackageGroupArn", "ModelPackageGroupDescription", "CreationTime",
              "ModelPackageGroupStatus")  # fmt: skip
    summaries = (
        {k: r["describe"][k] for k in fields if k in r["describe"]}
        for r in ctx.registry.values(Table.MODEL_PACKAGE_GROUP)
    )
    return listing.page(
        params, summaries, "ModelPackageGroupName", "ModelPackageGroupSummaryList", default_order="Ascending"
    )


async def delete_group(ctx: Context, params: Params) -> Response:
    group = _group(ctx, params["ModelPackageGroupName"])
    name = group["describe"]["ModelPackageGroupName"]
    if any(r["describe"].get("ModelPackageGroupName") == name for r in ctx.registry.values(Table.MODEL_PACKAGE)):
        raise conflict(f"ModelPackageGroup {name} still contains model packages; delete them first.")
    ctx.registry.delete(Table.MODEL_PACKAGE_GROUP, key_of(name))
    return {}


def _check_urls(params: Params) -> None:
    specs = [params.get("InferenceSpecification") or {}]
    specs += params.get("AdditionalInferenceSpecifications") or []
    specs += params.get("AdditionalInferenceSpecificationsToAdd") or []
    for spec in specs:
        for index, container in enumerate(spec.get("Containers") or [], 1):
            if container.get("ModelDataUrl"):
                check_model_data_url(container["ModelDataUrl"], f"InferenceSpecification.Containers.{index}")


async def create_package(ctx: Context, params: Params) -> Response:
    group_ref: str | None = params.get("ModelPackageGroupName")
    name: str = params.get("ModelPackageName") or ""
    if bool(group_ref) == bool(name):
        raise validation("Exactly one of ModelPackageName and ModelPackageGroupName must be specified.")
    _check_urls(params)
    token = params.get("ClientToken")
    describe: dict[str, Any] = {}
    if group_ref:
        group = _group(ctx, group_ref)
        name = group["describe"]["ModelPackageGroupName"]
        if token:
            for record in ctx.registry.values(Table.MODEL_PACKAGE):
                if record.get("client_token") == token and record["describe"].get("ModelPackageGroupName") == name:
                    return {"ModelPackageArn": record["describe"]["ModelPackageArn"]}
        group["last_version"] += 1
        ctx.registry.put(Table.MODEL_PACKAGE_GROUP, key_of(name), group)
        version = group["last_version"]
        key = f"{key_of(name)}/{version}"
        describe.update(ModelPackageGroupName=name, ModelPackageVersion=version)
        describe["ModelApprovalStatus"] = "PendingManualApproval"
    else:
        key = key_of(name)
        existing = ctx.registry.get(Table.MODEL_PACKAGE, key)
        if existing is not None:
            if token and existing.get("client_token") == token:
                return {"ModelPackageArn": existing["describe"]["ModelPackageArn"]}
            raise validation(f'Cannot create already existing model package "{ctx.arn(PACKAGE, key)}".')
    package_arn = ctx.arn(PACKAGE, key)
    describe.update({k: v for k, v in params.items() if k not in _NOT_ECHOED})
    describe.update(
        ModelPackageName=name,
        ModelPackageArn=package_arn,
        CreationTime=ctx.now,
        LastModifiedTime=ctx.now,
        ModelPackageStatus="Completed",
        ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
        CertifyForMarketplace=bool(params.get("CertifyForMarketplace", False)),
        CreatedBy={},
    )
    record = {"describe": describe, "tags": tag_list(params), "client_token": token}
    ctx.registry.put(Table.MODEL_PACKAGE, key, record)
    return {"ModelPackageArn": package_arn}


async def describe_package(ctx: Context, params: Params) -> Response:
    return dict(_package(ctx, params["ModelPackageName"])[1]["describe"])


async def list_packages(ctx: Context, params: Params) -> Response:
    fields = ("ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
              "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus")  # fmt: skip
    summaries = (
        {k: r["describe"][k] for k in fields if k in r["describe"]} for r in ctx.registry.values(Table.MODEL_PACKAGE)
    )
    checks = []
    if params.get("ModelPackageGroupName"):
        group = _name_of(params["ModelPackageGroupName"], GROUP).lower()
        checks.append(lambda s: str(s.get("ModelPackageGroupName", "")).lower() == group)
    if params.get("ModelApprovalStatus"):
        checks.append(lambda s: s.get("ModelApprovalStatus") == params["ModelApprovalStatus"])
    checks.append(_of_type(params))
    return listing.page(
        params, summaries, "ModelPackageName", "ModelPackageSummaryList", checks, default_order="Ascending"
    )


def _of_type(params: Params) -> Any:
    """The ModelPackageType filter: unversioned packages by default, as on AWS; a
    group's versions when a group is named (unversioned packages belong to none)."""
    package_type = params.get("ModelPackageType") or ("Versioned" if params.get("ModelPackageGroupName") else "Unversioned")
    if package_type == "Both":
        return lambda s: True
    return lambda s: ("ModelPackageVersion" in s) == (package_type == "Versioned")


async def delete_package(ctx: Context, params: Params) -> Response:
    key, _ = _package(ctx, params["ModelPackageName"])
    ctx.registry.delete(Table.MODEL_PACKAGE, key)
    return {}


async def update_package(ctx: Context, params: Params) -> Response:
    key, record = _package(ctx, params["ModelPackageArn"])
    _check_urls(params)
    describe = record["describe"]
    for field in ("ModelApprovalStatus", "ApprovalDescription", "InferenceSpecification", "SourceUri",
                  "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType"):  # fmt: skip
        if params.get(field) is not None:
            describe[field] = params[field]
    metadata = dict(describe.get("CustomerMetadataProperties") or {})
    metadata.update(params.get("CustomerMetadataProperties") or {})
    for removed in params.get("CustomerMetadataPropertiesToRemove") or []:
        metadata.pop(removed, None)
    if metadata or "CustomerMetadataProperties" in describe:
        describe["CustomerMetadataProperties"] = metadata
    if params.get("AdditionalInferenceSpecificationsToAdd"):
        describe["AdditionalInferenceSpecifications"] = (
            describe.get("AdditionalInferenceSpecifications") or []
        ) + params["AdditionalInferenceSpecificationsToAdd"]
    describe.update(LastModifiedTime=ctx.now, LastModifiedBy={})
    ctx.registry.put(Table.MODEL_PACKAGE, key, record)
    return {"ModelPackageArn": describe["ModelPackageArn"]}


OPERATIONS = {
    "CreateModelPackageGroup": create_group,
    "DescribeModelPackageGroup": describe_group,
    "ListModelPackageGroups": list_groups,
    "DeleteModelPackageGroup": delete_group,
    "CreateModelPackage": create_package,
    "DescribeModelPackage": describe_package,
    "ListModelPackages": list_packages,
    "DeleteModelPackage": delete_package,
    "UpdateModelPackage": update_package,
}

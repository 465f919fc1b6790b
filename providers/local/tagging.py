"""The Resource Groups Tagging API's GetResources, for the objects the local server keeps.

A request is `POST /` with `X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources`
(JSON 1.1). As in AWS, it answers the tagged objects that match every filter given:
`ResourceARNList` (1 to 100 ARNs; one that does not exist is left out, not an error),
`ResourceTypeFilters` (`sagemaker` or `sagemaker:<type>`, as ARNs name the type),
`TagFilters` (each key present, with one of its values when values are given); the other
members page the answer (`ResourcesPerPage`, `TagsPerPage`, `PaginationToken`), which
cannot be combined with `ResourceARNList`. Every object is compliant: there are no tag
policies here. Errors use the tagging API's codes (`InvalidParameterException`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from botocore.model import OperationModel

from providers.local import arns
from providers.local.errors import ApiError
from providers.local.registry import Record, Registry, Table, arn_of
from providers.local.validation import validate_request

TARGET_PREFIX = "ResourceGroupsTaggingAPI_20170126."
SERVICE = "sagemaker"
RESOURCES_PER_PAGE = (1, 100, 100)
TAGS_PER_PAGE = (100, 500, 500)
"""(least, most, default) of the paging members."""
PAGING = ("PaginationToken", "ResourcesPerPage", "TagsPerPage")


@lru_cache(maxsize=1)
def _operation() -> OperationModel:
    import botocore.session

    return botocore.session.get_session().get_service_model("resourcegroupstaggingapi").operation_model("GetResources")


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def handle(registry: Registry, target: str, body: bytes, authorization: str | None) -> bytes:
    """Answer one tagging API request, or raise an `ApiError`."""
    if target != TARGET_PREFIX + "GetResources":
        raise ApiError("UnknownOperationException", f"The local server does not implement {target}.")
    try:
        params = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("SerializationException", f"The request body is not valid JSON: {exc}") from None
    try:
        validate_request(_operation(), params)
    except ApiError as error:
        raise invalid(error.message) from None
    return json.dumps(get_resources(registry, params, arns.region_of(authorization))).encode()


def get_resources(registry: Registry, params: dict[str, Any], region: str) -> dict[str, Any]:
    if params.get("ResourceARNList") and any(params.get(member) is not None for member in PAGING):
        raise invalid("ResourceARNList cannot be combined with PaginationToken, ResourcesPerPage or TagsPerPage.")
    per_page = _bounded(params, "ResourcesPerPage", RESOURCES_PER_PAGE)
    tags_per_page = _bounded(params, "TagsPerPage", TAGS_PER_PAGE)
    matching = [
        _mapping(arn, record, params)
        for arn, table, record in _candidates(registry, params.get("ResourceARNList"))
        if record["tags"] and _selected(table, record, params)
    ]
    start = _offset(params.get("PaginationToken"))
    page: list[dict[str, Any]] = []
    size = 0
    for mapping in matching[start:]:
        if len(page) == per_page or (page and size + len(mapping["Tags"]) > tags_per_page):
            break
        page.append(mapping)
        size += len(mapping["Tags"])
    end = start + len(page)
    token = str(end) if end < len(matching) else ""
    if params.get("ExcludeCompliantResources"):
        page = []  # without tag policies, every resource is compliant
    return {"PaginationToken": token, "ResourceTagMappingList": page}


def _candidates(registry: Registry, wanted: list[str] | None) -> Iterator[tuple[str, Table, Record]]:
    if wanted:
        for arn in dict.fromkeys(wanted):
            found = registry.by_arn(arn)
            if found is not None:
                yield arn_of(found[2]), found[0], found[2]
        return
    for table in Table:
        for record in registry.values(table):
            yield arn_of(record), table, record


def _selected(table: Table, record: Record, params: dict[str, Any]) -> bool:
    types = params.get("ResourceTypeFilters") or []
    if types and not any(t.lower() in (SERVICE, f"{SERVICE}:{table.value}") for t in types):
        return False
    tags = {t["Key"]: t["Value"] for t in record["tags"]}
    for condition in params.get("TagFilters") or []:
        key, values = condition.get("Key"), condition.get("Values") or []
        if key not in tags or (values and tags[key] not in values):
            return False
    return True


def _mapping(arn: str, record: Record, params: dict[str, Any]) -> dict[str, Any]:
    mapping: dict[str, Any] = {"ResourceARN": arn, "Tags": [dict(t) for t in record["tags"]]}
    if params.get("IncludeComplianceDetails"):
        mapping["ComplianceDetails"] = {"NoncompliantKeys": [], "KeysWithNoncompliantValues": [], "ComplianceStatus": True}
    return mapping


def _bounded(params: dict[str, Any], member: str, bounds: tuple[int, int, int]) -> int:
    least, most, default = bounds
    value = params.get(member)
    if value is None:
        return default
    if not least <= value <= most:
        raise invalid(f"{member} must be between {least} and {most}; got {value}.")
    return int(value)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise ApiError("PaginationTokenExpiredException", "The pagination token is not valid or has expired.")
    return int(token)

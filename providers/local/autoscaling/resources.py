"""What Application Auto Scaling can scale, behind one small interface.

A `Scalable` answers for one scalable dimension: whether a resource id names a
live object, its capacity now, how to change it, and the dimensions of its
metrics. Endpoint variants (`sagemaker:variant:DesiredInstanceCount`, resource
id `endpoint/<endpoint>/variant/<variant>`) are here; inference components'
copy counts are in `copies`.
"""

from __future__ import annotations

from typing import Protocol

from providers.local import updates
from providers.local.errors import ApiError, validation
from providers.local.lifecycle import Endpoints

VARIANT = "sagemaker:variant:DesiredInstanceCount"


class Scalable(Protocol):
    """One scalable dimension's objects."""

    #: What the capacity counts, as activities word it ("instance count").
    unit: str

    def check(self, resource_id: str) -> None:
        """Raise `ValidationException` unless `resource_id` names a live object."""

    def capacity(self, resource_id: str) -> int | None:
        """The capacity asked for now (None: the object is gone)."""

    def settled(self, resource_id: str) -> tuple[bool, str | None]:
        """(whether the last change is finished, its failure if it failed)."""

    def set_capacity(self, resource_id: str, count: int) -> None:
        """Start moving to `count`; `ApiError` if the object cannot change now."""

    def dimensions(self, resource_id: str) -> list[dict[str, str]]:
        """The CloudWatch dimensions of the object's AWS/SageMaker metrics."""


def variant_of(resource_id: str) -> tuple[str, str] | None:
    parts = resource_id.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1], parts[3]
    return None


class Variants:
    """Endpoint variants, scaled through UpdateEndpointWeightsAndCapacities."""

    unit = "instance count"

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    def check(self, resource_id: str) -> None:
        parsed = variant_of(resource_id)
        if parsed is None:
            raise validation(f"Unsupported resource ID: {resource_id}. Expected endpoint/<endpoint>/variant/<variant>.")
        endpoint, variant = parsed
        record = self.endpoints.record(endpoint)
        if record is None or variant not in record["variants"]:
            raise validation(f"The endpoint variant {resource_id} does not exist.")

    def capacity(self, resource_id: str) -> int | None:
        parsed = variant_of(resource_id)
        record = self.endpoints.record(parsed[0]) if parsed else None
        if record is None or parsed is None or parsed[1] not in record["variants"]:
            return None
        return int(record["variants"][parsed[1]]["DesiredInstanceCount"])

    def settled(self, resource_id: str) -> tuple[bool, str | None]:
        parsed = variant_of(resource_id)
        record = self.endpoints.record(parsed[0]) if parsed else None
        if record is None:
            return True, "The endpoint no longer exists."
        described = record["describe"]
        if described["EndpointStatus"] in ("Updating", "RollingBack", "SystemUpdating"):
            return False, None
        return True, described.get("FailureReason")

    def set_capacity(self, resource_id: str, count: int) -> None:
        self.check(resource_id)
        endpoint, variant = variant_of(resource_id)  # type: ignore[misc]
        try:
            updates.begin_scale(self.endpoints, endpoint, [{"VariantName": variant, "DesiredInstanceCount": count}])
        except ApiError as error:
            raise ApiError(error.code, f"Failed to set desired instance count to {count}: {error.message}") from None

    def dimensions(self, resource_id: str) -> list[dict[str, str]]:
        endpoint, variant = variant_of(resource_id) or ("", "")
        return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]

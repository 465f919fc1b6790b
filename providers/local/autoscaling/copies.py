"""Inference components' copy counts as a scalable dimension.

`sagemaker:inference-component:DesiredCopyCount`, resource id
`inference-component/<name>`: Application Auto Scaling moves the copy count
through the component manager (`Components.set_copy_count`, the same path as
UpdateInferenceComponentRuntimeConfig), so new copies are placed on the
variant's instances or refused as they would be there. A change is settled once
the component is out of `Updating`.
"""

from __future__ import annotations

from providers.local.components import Components
from providers.local.errors import ApiError, validation
from providers.local.registry import Record

COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
PREFIX = "inference-component/"


def component_of(resource_id: str) -> str | None:
    name = resource_id[len(PREFIX) :] if resource_id.startswith(PREFIX) else ""
    return name if name and "/" not in name else None


class Copies:
    """Inference components, scaled by their copy count."""

    unit = "copy count"

    def __init__(self, components: Components) -> None:
        self.components = components

    def _record(self, resource_id: str) -> Record | None:
        name = component_of(resource_id)
        return self.components.record(name) if name else None

    def check(self, resource_id: str) -> None:
        if component_of(resource_id) is None:
            raise validation(f"Unsupported resource ID: {resource_id}. Expected inference-component/<name>.")
        record = self._record(resource_id)
        if record is None or record["describe"]["InferenceComponentStatus"] in ("Deleting", "Failed"):
            raise validation(f"The inference component {resource_id} does not exist.")

    def capacity(self, resource_id: str) -> int | None:
        record = self._record(resource_id)
        if record is None:
            return None
        return int(record["describe"]["RuntimeConfig"]["DesiredCopyCount"])

    def settled(self, resource_id: str) -> tuple[bool, str | None]:
        record = self._record(resource_id)
        if record is None:
            return True, "The inference component no longer exists."
        described = record["describe"]
        changing = described["InferenceComponentStatus"] in ("Creating", "Updating")
        if changing or self.components.busy(described["InferenceComponentName"]):
            return False, None
        return True, described.get("FailureReason")

    def set_capacity(self, resource_id: str, count: int) -> None:
        self.check(resource_id)
        name = resource_id[len(PREFIX) :]
        try:
            self.components.set_copy_count(name, count)
        except ApiError as error:
            raise ApiError(error.code, f"Failed to set desired copy count to {count}: {error.message}") from None

    def dimensions(self, resource_id: str) -> list[dict[str, str]]:
        return [{"Name": "InferenceComponentName", "Value": resource_id[len(PREFIX) :]}]

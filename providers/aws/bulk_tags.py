"""Tags of many objects in few calls: the Resource Groups Tagging API's GetResources.

One call answers up to 100 ARNs (`ResourceARNList`), where ListTags answers one. It is
best effort: an ARN it leaves out (an untagged object, a resource type the API does not
cover in this partition or on this server) is read with ListTags by the caller. When the
API is denied to the caller or unknown to the server, it is not asked again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .errors import translate

BATCH = 100
"""The most ARNs GetResources takes in one `ResourceARNList`."""
_UNAVAILABLE = ("AccessDenied", "Unauthorized", "UnknownOperation", "NotImplemented", "InvalidAction", "OptInRequired")
"""Error codes (or their stems) that mean the caller cannot use the API at all."""


class BulkTags:
    """GetResources through one client; remembers when the API is out of reach."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.available = True

    def read(self, arns: list[str]) -> dict[str, dict[str, str]]:
        """Lower-cased ARN -> tags, for the ARNs the API reports.

        Give the ARNs of one resource type: if the first 100 bring back none, the API does not
        cover that type here and the rest are not asked for.
        """
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), BATCH):
            if not self.available:
                break
            found.update(self._batch(arns[start : start + BATCH]))
            if not found:
                break
        return found

    def _batch(self, arns: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        try:
            for page in self.client.get_paginator("get_resources").paginate(ResourceARNList=arns):
                for item in page.get("ResourceTagMappingList", []):
                    tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                    found[str(item["ResourceARN"]).lower()] = tags
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if any(stem in code for stem in _UNAVAILABLE):
                self.available = False
                return found
            raise translate(exc, "GetResources") from None
        return found

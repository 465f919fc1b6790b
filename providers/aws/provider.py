"""SageMaker through boto3. Stateless beyond its clients; every method is one API verb.

Retries are botocore's (`standard` or `adaptive` mode); waits poll DescribeEndpoint with
backoff, starting at once, so progress can show each stage and a rollback is never
mistaken for success.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import datetime, timedelta
from collections.abc import Callable
from pathlib import Path
from typing import Any

from boto3.exceptions import Boto3Error
from botocore import xform_name
from botocore.exceptions import ClientError

from smstate.artifacts import is_local, map_artifacts
from smstate.aws import AwsSettings, Clients
from smstate.errors import ProviderError
from smstate.hashing import ARTIFACT_KEYS
from smstate.provider import Created, Live, Progress, ProgressFn, Summary
from smstate.resources import KINDS, Kind, Tagging
from smstate.traits import Part, TagApi

from .bulk_tags import BulkTags
from .errors import is_not_found, translate
from .parts import put_parts

class AwsProvider:
    """SageMaker reached through boto3, with botocore's retry modes."""

    name = "aws"

    def __init__(
        self,
        settings: AwsSettings,
        artifact_bucket: str | None = None,
        pass_local_artifacts: bool = False,
        poll: tuple[float, float] = (0.5, 15.0),
    ) -> None:
        self.clients = Clients(settings)
        self.artifact_bucket = artifact_bucket
        self.pass_local_artifacts = pass_local_artifacts
        self.poll = poll
        """The first and the longest delay between polls of a changing object."""
        self.sagemaker = self.clients.client("sagemaker")
        self._services: dict[str, Any] = {"sagemaker": self.sagemaker}
        self.sleep: Callable[[float], None] = time.sleep
        self._bulk_tags: BulkTags | None = None

    def _client(self, kind: Kind) -> Any:
        """The boto3 client of the kind's service, made once."""
        if kind.service not in self._services:
            self._services[kind.service] = self.clients.client(kind.service)
        return self._services[kind.service]

    def _call(self, operation: str, what: str, client: Any = None, **params: Any) -> Any:
        try:
            return getattr(client or self.sagemaker, xform_name(operation))(**params)
        except ClientError as exc:
            raise translate(exc, what) from None

    # -- read -------------------------------------------------------------------------

    def read(self, kind: Kind, object_id: str, with_tags: bool = True) -> Live | None:
        """The object as DescribeX has it (None when it does not exist), with its tags unless told not to."""
        description = self._describe(kind, object_id)
        if description is None:
            return None
        arn = description.get(kind.arn_member)
        tags = self._tags(arn) if with_tags and arn and kind.tags_readable else None
        status = description.get(kind.statuses.member) if kind.statuses else None
        if kind.tags_readable and kind.statuses and status == kind.statuses.deleting:
            tags = tags or {}
        name = description.get(kind.name_member) if kind.name_member else (object_id if kind.composite_id else None)
        return Live(
            physical_name=name,
            arn=arn,
            description=description,
            tags=tags,
            status=status,
            failure_reason=description.get("FailureReason"),
            version=description.get(kind.version_member) if kind.version_member else None,
            created=_timestamp(description.get("CreationTime")),
            modified=_timestamp(description.get(modified)) if (modified := kind.listing.modified_member) else None,
        )

    def _describe(self, kind: Kind, object_id: str) -> dict[str, Any] | None:
        """The object's description (with its parts by name), None when it does not exist."""
        request = kind.describe_request(object_id) if kind.describe_request else {kind.object_member: object_id}
        try:
            description = getattr(self._client(kind), xform_name(kind.describe))(**request)
            description.pop("ResponseMetadata", None)
            if kind.found_at is not None:
                found = description.get(kind.found_at) or []
                if not found:
                    return None
                description = dict(found[0])
            for part in kind.parts:
                description[part.member] = self._parts(kind, part, object_id)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, f"{kind.describe} {object_id}") from None
        return description

    def _parts(self, kind: Kind, part: Part, object_id: str) -> dict[str, dict[str, Any]]:
        """The object's sub-objects of one part, by name."""
        assert kind.id_request is not None
        client = self._client(kind)
        pages = client.get_paginator(xform_name(part.describe)).paginate(**kind.id_request(object_id))
        return {row[part.name_member]: row for page in pages for row in page.get(part.key, [])}

    def _tag_client(self, arn: str) -> tuple[Any, TagApi]:
        """The client and tag calls of the service an ARN belongs to."""
        service = arn.split(":")[2] if arn.count(":") >= 2 else "sagemaker"
        kind = next((k for k in KINDS.values() if k.service == service), None)
        return (self._client(kind), kind.tag_api) if kind is not None else (self.sagemaker, TagApi())

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        client, api = self._tag_client(arn)
        op = xform_name(api.list)
        try:
            pages = client.get_paginator(op).paginate(**{api.arn_member: arn}) if client.can_paginate(op) else [
                getattr(client, op)(**{api.arn_member: arn})
            ]
            for page in pages:
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        except ClientError as exc:
            if is_not_found(exc):
                return {}
            raise translate(exc, f"ListTags {arn}") from None
        return tags

    # -- write ------------------------------------------------------------------------

    def create(self, kind: Kind, name: str | None, request: dict[str, Any], tags: dict[str, str]) -> Created:
        params = self._own_members(kind, kind.create, self._upload_artifacts(request))
        if kind.name_member and name:
            params[kind.name_member] = name
        if kind.id_request and name:
            params.update(kind.id_request(name))
        if kind.tags is not Tagging.NONE:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        result = self._call(kind.create, f"{kind.create} {name or ''}".strip(), self._client(kind), **params)
        if kind.parts and name:
            put_parts(self._call, self._client(kind), kind, name, (request, {}))
        arn = result.get(kind.arn_member, "")
        return Created(physical_name=name, arn=arn)

    def update(self, kind: Kind, object_id: str, request: dict[str, Any], operation: str | None = None) -> None:
        """Change the object in place with `operation` (the kind's update by default), then its parts."""
        operation = operation or kind.update
        if operation is None or (kind.update_member is None and kind.id_request is None):
            raise NotImplementedError(f"{kind.type} cannot be updated in place")
        ids = kind.id_request(object_id) if kind.id_request else {str(kind.update_member): object_id}
        params = {**self._own_members(kind, operation, request), **ids}
        self._call(operation, f"{operation} {object_id}", self._client(kind), **params)
        if kind.parts and operation == kind.update:
            put_parts(self._call, self._client(kind), kind, object_id, (request, self._describe(kind, object_id) or {}))

    def _own_members(self, kind: Kind, op: str, request: dict[str, Any]) -> dict[str, Any]:
        """The request members the operation takes (a config's own sugar, such as a scaling target, stays out)."""
        if kind.form is None:
            return dict(request)
        members = self._client(kind).meta.service_model.operation_model(op).input_shape.members
        return {k: v for k, v in request.items() if k in members}

    def set_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        client, api = self._tag_client(arn)
        if remove:
            self._call(api.remove, f"{api.remove} {arn}", client, **{api.arn_member: arn, "TagKeys": remove})
        if add:
            tags = [{"Key": k, "Value": v} for k, v in add.items()]
            self._call(api.add, f"{api.add} {arn}", client, **{api.arn_member: arn, "Tags": tags})

    def delete(self, kind: Kind, object_id: str) -> None:
        """Delete the object, its parts first (a target's policies are gone before the target is)."""
        request = kind.delete_request(object_id) if kind.delete_request else {kind.object_member: object_id}
        try:
            if kind.parts:
                put_parts(self._call, self._client(kind), kind, object_id, ({}, self._describe(kind, object_id) or {}))
            getattr(self._client(kind), xform_name(kind.delete))(**request)
        except ClientError as exc:
            if not is_not_found(exc):
                raise translate(exc, f"{kind.delete} {object_id}") from None

    def wait(self, kind: Kind, object_id: str, until: str, timeout: float, progress: ProgressFn) -> Live | None:
        """Poll with backoff (by default 0.5 s doubling to 15 s, back to 0.5 s when the stage changes)
        until settled or gone, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        first, longest = self.poll
        delay = first
        history: list[str] = []
        while True:
            live = self.read(kind, object_id, with_tags=False)  # polls need the status only
            if live is None:
                return None
            status = live.status or ""
            stage = describe_stage(live.description)
            label = f"{status}: {stage}" if stage else status
            if not history or history[-1] != label:
                history.append(label)
                delay = first
            progress(Progress(status, stage, tuple(history)))
            if until == "ready" and kind.statuses and status in kind.statuses.settled:
                if live.arn and kind.tags_readable:
                    return dataclasses.replace(live, tags=self._tags(live.arn))
                return live
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"timed out after {timeout:.0f}s waiting for {object_id} (status {status}); "
                    "it keeps going in SageMaker, and the next plan re-reads it"
                )
            self.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, longest)

    # -- runtime ----------------------------------------------------------------------

    def invoke(
        self,
        endpoint: str,
        body: bytes,
        content_type: str,
        accept: str | None,
        target_variant: str | None,
        component: str | None = None,
        target_model: str | None = None,
    ) -> tuple[bytes, str, str | None]:
        """InvokeEndpoint: the response body, its content type and the variant that answered."""
        runtime = self.clients.client("sagemaker-runtime")
        params: dict[str, Any] = {"EndpointName": endpoint, "Body": body, "ContentType": content_type}
        if accept:
            params["Accept"] = accept
        if target_variant:
            params["TargetVariant"] = target_variant
        if component:
            params["InferenceComponentName"] = component
        if target_model:
            params["TargetModel"] = target_model
        try:
            result = runtime.invoke_endpoint(**params)
        except ClientError as exc:
            raise translate(exc, f"InvokeEndpoint {endpoint}") from None
        return result["Body"].read(), result.get("ContentType", ""), result.get("InvokedProductionVariant")

    # -- checks -----------------------------------------------------------------------

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        """(id, ARN) of every object of a kind, through its List operation's pages (per parent when it lists within one)."""
        listing = kind.listing
        op, key, field, arn_field = listing.operation, listing.key, listing.id_member, listing.arn_member
        paginator = self._client(kind).get_paginator(xform_name(op))
        found: list[tuple[str, str]] = []
        try:
            if listing.within and listing.within_member:
                for parent, _ in self.list_ids(KINDS[listing.within], name_prefix):
                    pages = paginator.paginate(**{listing.within_member: parent})
                    found += [(i[field], i[arn_field]) for page in pages for i in page.get(key, [])]
                return found
            params: dict[str, Any] = dict(listing.fixed)
            if name_prefix and listing.prefix_member:
                params[listing.prefix_member] = name_prefix
            params["PaginationConfig"] = {"PageSize": listing.page_size}  # the largest page: the fewest calls
            for page in paginator.paginate(**params):
                rows = [(listing.row_id(i) if listing.row_id else i[field], i.get(arn_field, "")) for i in page.get(key, [])]
                found += [row for row in rows if row[0].startswith(name_prefix)]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UnknownOperationException" and kind.service != "sagemaker":
                return []  # a target that does not speak this service (a local server without it) holds none of its objects
            raise translate(exc, op) from None
        return found

    def tags_of(self, arn: str) -> dict[str, str]:
        return self._tags(arn)

    def tags_in_bulk(self, arns: list[str]) -> dict[str, dict[str, str]]:
        """Tags through the Resource Groups Tagging API, 100 ARNs a call (`bulk_tags`)."""
        if self._bulk_tags is None:
            self._bulk_tags = BulkTags(self.clients.client("resourcegroupstaggingapi"))
        return self._bulk_tags.read(arns)

    def last_activity(self, kind: Kind, object_id: str) -> dict[str, Any] | None:
        if kind.activity is None or kind.id_request is None:
            return None
        operation, key = kind.activity
        answer = self._call(operation, f"{operation} {object_id}", self._client(kind), **kind.id_request(object_id), MaxResults=1)
        found = answer.get(key) or []
        return dict(found[0]) if found else None

    def first_listed(self, kind: Kind, params: dict[str, Any]) -> str | None:
        lookup = kind.lookup
        assert lookup is not None, f"{kind.type} is read by name"
        result = self._call(lookup.operation, lookup.operation, self._client(kind), **params, MaxResults=1)
        rows = result.get(lookup.key, [])
        return str(rows[0][lookup.arn_member]) if rows else None

    def list_summaries(self, kind: Kind, created_after: str | None) -> dict[str, Summary]:
        op, key, field, arn_field = (
            kind.listing.operation, kind.listing.key, kind.listing.id_member, kind.listing.arn_member
        )
        params: dict[str, Any] = {"MaxResults": 100}
        if created_after:
            params["CreationTimeAfter"] = datetime.fromisoformat(created_after) - timedelta(seconds=1)
        found: dict[str, Summary] = {}
        try:
            for page in self._client(kind).get_paginator(xform_name(op)).paginate(**params):
                for item in page.get(key, []):
                    found[item[field]] = _summary(kind, item)
        except ClientError as exc:
            raise translate(exc, op) from None
        return found

    def check_network(self, subnets: list[str], security_groups: list[str]) -> list[str]:
        ec2 = self.clients.client("ec2")
        missing: list[str] = []
        for ids, call, key, field in (
            (subnets, ec2.describe_subnets, "SubnetIds", "Subnets"),
            (security_groups, ec2.describe_security_groups, "GroupIds", "SecurityGroups"),
        ):
            for item in sorted(set(ids)):
                try:
                    call(**{key: [item]})
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if "NotFound" in code or "Malformed" in code:
                        missing.append(item)
                    elif "UnauthorizedOperation" in code or "AccessDenied" in code:
                        raise PermissionError(code) from None
                    else:
                        raise translate(exc, f"EC2 {field}") from None
        return missing

    # -- artifacts --------------------------------------------------------------------

    def _upload_artifacts(self, request: dict[str, Any]) -> dict[str, Any]:
        """A local model artifact goes to `artifact_bucket` under a key derived from its bytes."""

        if self.pass_local_artifacts:
            return dict(request)
        result: dict[str, Any] = map_artifacts(request, lambda _, url: self._upload(url) if is_local(url) else url, ARTIFACT_KEYS)
        return result

    def _upload(self, url: str) -> str:
        path = Path(url.removeprefix("file://"))
        if not self.artifact_bucket:
            raise ProviderError(f"the model artifact {path} is a local file: set provider.artifact_bucket to upload it")
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ProviderError(f"cannot read the model artifact {path}: {exc.strerror}") from None
        key = f"smstate/artifacts/{digest}/{path.name}"
        s3 = self.clients.client("s3")
        try:
            s3.head_object(Bucket=self.artifact_bucket, Key=key)
        except ClientError:
            try:
                s3.upload_file(str(path), self.artifact_bucket, key)
            except (ClientError, Boto3Error) as exc:
                raise ProviderError(f"cannot upload {path} to s3://{self.artifact_bucket}/{key}: {exc}") from None
        return f"s3://{self.artifact_bucket}/{key}"


def _summary(kind: Kind, row: dict[str, Any]) -> Summary:
    modified = kind.listing.modified_member
    return Summary(
        arn=row[kind.listing.arn_member],
        created=_timestamp(row.get("CreationTime")),
        modified=_timestamp(row.get(modified)) if modified else None,
        status=row.get(kind.statuses.member) if kind.statuses else None,
    )


def _timestamp(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def describe_stage(description: dict[str, Any]) -> str:
    """The current deployment stage, from PendingDeploymentSummary's variant statuses."""
    pending = description.get("PendingDeploymentSummary") or {}
    parts = []
    for variant in pending.get("ProductionVariants", []):
        for status in variant.get("VariantStatus", []):
            message = status.get("StatusMessage", "")
            parts.append(f"{variant.get('VariantName')}: {status.get('Status')}" + (f" ({message})" if message else ""))
    return "; ".join(parts)

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

from smstate.aws import AwsSettings, Clients
from smstate.errors import ProviderError
from smstate.provider import Created, Live, Progress, ProgressFn, Summary
from smstate.resources import KINDS, Kind

from .errors import is_not_found, translate

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
        try:
            description = getattr(self._client(kind), xform_name(kind.describe))(**{kind.object_member: object_id})
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, f"{kind.describe} {object_id}") from None
        description.pop("ResponseMetadata", None)
        arn = description.get(kind.arn_member)
        tags = self._tags(arn) if with_tags and arn and kind.tags_readable else None
        status = description.get(kind.statuses.member) if kind.statuses else None
        if kind.tags_readable and kind.statuses and status == kind.statuses.deleting:
            tags = tags or {}
        name = description.get(kind.name_member) if kind.name_member else None
        return Live(
            physical_name=name,
            arn=arn,
            description=description,
            tags=tags,
            status=status,
            failure_reason=description.get("FailureReason"),
            version=description.get(kind.version_member) if kind.version_member else None,
            created=_timestamp(description.get("CreationTime")),
        )

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        try:
            for page in self.sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        except ClientError as exc:
            if is_not_found(exc):
                return {}
            raise translate(exc, f"ListTags {arn}") from None
        return tags

    # -- write ------------------------------------------------------------------------

    def create(self, kind: Kind, name: str | None, request: dict[str, Any], tags: dict[str, str]) -> Created:
        params = self._upload_artifacts(request)
        if kind.name_member and name:
            params[kind.name_member] = name
        params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        result = self._call(kind.create, f"{kind.create} {name or ''}".strip(), self._client(kind), **params)
        arn = result.get(kind.arn_member, "")
        return Created(physical_name=name, arn=arn)

    def update(self, kind: Kind, object_id: str, request: dict[str, Any]) -> None:
        if kind.update is None or kind.update_member is None:
            raise NotImplementedError(f"{kind.type} cannot be updated in place")
        params = {kind.update_member: object_id, **request}
        self._call(kind.update, f"{kind.update} {object_id}", self._client(kind), **params)

    def set_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        if remove:
            self._call("DeleteTags", f"DeleteTags {arn}", ResourceArn=arn, TagKeys=remove)
        if add:
            self._call("AddTags", f"AddTags {arn}", ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in add.items()])

    def delete(self, kind: Kind, object_id: str) -> None:
        try:
            getattr(self._client(kind), xform_name(kind.delete))(**{kind.object_member: object_id})
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
        self, endpoint: str, body: bytes, content_type: str, accept: str | None, target_variant: str | None
    ) -> tuple[bytes, str, str | None]:
        """InvokeEndpoint: the response body, its content type and the variant that answered."""
        runtime = self.clients.client("sagemaker-runtime")
        params: dict[str, Any] = {"EndpointName": endpoint, "Body": body, "ContentType": content_type}
        if accept:
            params["Accept"] = accept
        if target_variant:
            params["TargetVariant"] = target_variant
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
            params: dict[str, Any] = {"NameContains": name_prefix} if name_prefix else {}
            params["PaginationConfig"] = {"PageSize": 100}  # the API's largest page: a tenth of the calls of its default
            for page in paginator.paginate(**params):
                found += [(i[field], i[arn_field]) for i in page.get(key, []) if i[field].startswith(name_prefix)]
        except ClientError as exc:
            raise translate(exc, op) from None
        return found

    def tags_of(self, arn: str) -> dict[str, str]:
        return self._tags(arn)

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
                    found[item[field]] = Summary(item[arn_field], _timestamp(item.get("CreationTime")))
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

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                return {
                    k: self._upload(v) if k == "ModelDataUrl" and isinstance(v, str) and v.startswith("file://") else walk(v)
                    for k, v in value.items()
                }
            if isinstance(value, list):
                return [walk(v) for v in value]
            return value

        if self.pass_local_artifacts:
            return dict(request)
        result: dict[str, Any] = walk(request)
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

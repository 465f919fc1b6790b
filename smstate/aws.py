"""Every boto3 session and client smstate uses is made here, so none can escape the rules.

The rules: one session per settings (profile, region, credentials as boto3 resolves them);
botocore's retry modes and timeouts on every client; one endpoint rule for every service:
`endpoints[service]`, else `endpoint_url`, else what botocore
resolves itself (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the config file, AWS).

Every client class is built with `Checked` mixed in (botocore's `creating-client-class`
event, the hook boto3 itself uses to add S3's transfer methods), so on every call, paginated
or not, a transport failure is one `SmstateError` line naming the service, the operation and
the URL, and an answer that is not the API's (an HTML page or garbage with status 200) is an
error rather than an empty object.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidRegionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.model import OperationModel

from .errors import ProviderError, RetryableError, SmstateError, UnreachableError
from .shapes import data_loader

DEFAULT_REGION = "us-east-1"
_IDENTIFYING = ("Name", "Arn", "Status", "Id")
"""Required output members that identify what was read: an answer lacking one is not the API's."""


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS (or a server speaking its APIs): everything a client is built from."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    """Service name (as botocore names it: `ec2`, `s3`, `sagemaker-runtime`) -> URL, overriding `endpoint_url`."""
    credentials: Mapping[str, str] | None = None
    retry_mode: str = "standard"
    max_attempts: int = 8
    pool_size: int = 10
    connect_timeout: float = 10
    read_timeout: float = 70


class AwsError(SmstateError):
    """The AWS settings cannot work (no such profile, a malformed region or URL)."""


def known_services() -> list[str]:
    """Every service botocore has a model for: the keys `provider.endpoints` accepts."""
    return sorted(data_loader().list_available_services("service-2"))


class Clients:
    """The one maker of boto3 clients: a session, a config, an endpoint per service; one client per service."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        self.session = _session(settings.profile, settings.region, settings.credentials)
        if _region(self.session) is None:
            self.session = _session(settings.profile, DEFAULT_REGION, settings.credentials)
        self.config = Config(
            retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
            max_pool_connections=settings.pool_size,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def url(self, service: str) -> str | None:
        """The URL configured for a service; None leaves it to botocore (environment, config file, AWS)."""
        return self.settings.endpoints.get(service) or self.settings.endpoint_url

    def client(self, service: str) -> Any:
        """The client of a service, made once (boto3 clients are thread-safe, their creation is not)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _make(self, service: str) -> Any:
        url = self.url(service)
        try:
            return _checked_url(self.session.client(service, endpoint_url=url, config=self.config))
        except ProfileNotFound as exc:
            raise _no_profile(exc) from None
        except InvalidRegionError as exc:
            raise AwsError(f"the AWS region {exc.kwargs.get('region_name')!r} is not a region name (e.g. us-east-1)") from None
        except BotoCoreError as exc:  # an unknown service, a broken config file, ...
            raise AwsError(f"cannot use {service}: {exc}") from None
        except ValueError as exc:  # botocore's "Invalid endpoint"
            where = f" at {url}" if url else " (endpoint from AWS_ENDPOINT_URL* or the AWS config file)"
            raise AwsError(f"cannot use {service}{where}: {exc}") from None


def _checked_url(client: Any) -> Any:
    """The client, once the URL it resolved (from the config, AWS_ENDPOINT_URL*, or the AWS config file)
    can be used: botocore accepts `http://host:abc` and fails on it only when it signs the first request."""
    url = client.meta.endpoint_url
    try:
        urllib.parse.urlsplit(url).port
    except ValueError as exc:
        raise AwsError(f"cannot use {client.meta.service_model.service_name} at {url}: {exc}") from None
    return client


def _session(profile: str | None, region: str | None, credentials: Mapping[str, str] | None) -> boto3.session.Session:
    """A boto3 session on the core's loader (the SageMaker model is parsed once), with the checks installed."""
    loader = data_loader()
    paths = list(loader.search_paths)
    core = botocore.session.Session()
    core.register_component("data_loader", loader)
    try:
        session = boto3.session.Session(
            profile_name=profile, region_name=region, botocore_session=core, **dict(credentials or {})
        )
    except ProfileNotFound as exc:
        raise _no_profile(exc) from None
    finally:
        if loader.search_paths[len(paths):] and loader.search_paths[-1] in paths:
            loader.search_paths.pop()  # boto3 appends its data path on every session
    session.events.register("creating-client-class", _mix_in_checks)
    session.events.register("before-parse", _check_body)
    return session


def _region(session: boto3.session.Session) -> str | None:
    try:
        return session.region_name
    except ProfileNotFound as exc:
        raise _no_profile(exc) from None


def _no_profile(exc: ProfileNotFound) -> AwsError:
    return AwsError(f"the AWS profile {exc.kwargs.get('profile')!r} is not in the AWS config files")


def _mix_in_checks(class_attributes: dict[str, Any], base_classes: list[type], **_: Any) -> None:
    base_classes.insert(0, Checked)


class Checked:
    """Mixed into every client class: failures become one line, and answers are checked."""

    meta: Any

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        try:
            response = super()._make_api_call(operation_name, api_params)  # type: ignore[misc]
        except BotoCoreError as exc:
            raise failure(self.meta, operation_name, exc) from None
        missing = _missing_members(self.meta.service_model.operation_model(operation_name), response)
        if missing:
            raise ProviderError(
                f"{_where(self.meta, operation_name)}: the answer has none of {', '.join(missing)}, "
                "so it is not this API's (a proxy or another server answering?)"
            )
        return response


class NotTheApi(BotoCoreError):
    fmt = "the answer (HTTP {status}, {content_type}) is not JSON, so it is not this API's (a proxy or another server answering?)"


def failure(meta: Any, operation: str, exc: BotoCoreError) -> SmstateError:
    """One line naming the service, the operation and the URL; unreachable apart, as the rest would fail alike."""
    where = _where(meta, operation)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return UnreachableError(f"{where}: cannot connect ({_reason(exc)})")
    if isinstance(exc, NoCredentialsError):
        return ProviderError(f"{where}: no AWS credentials found (set a profile, AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    if isinstance(exc, ProfileNotFound):
        return _no_profile(exc)
    if isinstance(exc, NotTheApi):
        return ProviderError(f"{where}: {exc}")
    if isinstance(exc, ReadTimeoutError):
        return RetryableError(f"{where}: no answer within the read timeout")
    if isinstance(exc, HTTPClientError):  # the connection broke: running again may succeed
        return RetryableError(f"{where}: {exc}")
    return ProviderError(f"{where}: {exc}")


def _where(meta: Any, operation: str) -> str:
    return f"{meta.service_model.service_name} {operation} at {meta.endpoint_url}"


def _reason(exc: BotoCoreError) -> str:
    cause = exc.kwargs.get("error")
    text = str(cause) if cause is not None else str(exc)
    for known in ("Connection refused", "Name or service not known", "No address associated", "timed out"):
        if known.lower() in text.lower():
            return known.lower()
    return text.split(": ", 1)[-1][:200]


def _missing_members(operation: OperationModel, response: Mapping[str, Any]) -> list[str]:
    """The required output members that identify what was read (names, ARNs, statuses, lists), when the
    answer has none of them: an answer that identifies nothing is not the API's. One present is enough,
    as servers that speak the API in part (moto, S3-compatible stores) leave some out."""
    shape = operation.output_shape
    if shape is None or operation.has_streaming_output:
        return []
    members = getattr(shape, "members", {})
    identifying = [
        name for name in getattr(shape, "required_members", [])
        if name.endswith(_IDENTIFYING) or members[name].type_name == "list"
    ]
    return [] if any(name in response for name in identifying) else identifying


def _check_body(operation_model: OperationModel, response_dict: dict[str, Any], **_: Any) -> None:
    """A JSON-protocol API answers success with a JSON object; an HTML page with status 200 is not an answer."""
    if operation_model.service_model.resolved_protocol != "json" or operation_model.has_streaming_output:
        return
    status = int(response_dict.get("status_code", 0))
    body = response_dict.get("body") or b""
    if status >= 300 or not body:
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        content_type = response_dict.get("headers", {}).get("content-type", "no content type")
        raise NotTheApi(status=status, content_type=content_type)

"""The config: `smstate.yaml` plus every `*.smstate.yaml` beside it, merged.

Loading is pure: it takes file names and texts and returns a `Config` or raises a
`ConfigError` carrying every problem found, each with its file, line and key path.
The envelope (provider, backend, variables, lifecycle) is checked by pydantic; resource
bodies are checked against botocore's service model once references are resolved.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator
from pydantic import ValidationInfo

from .addresses import NAME_RE, RESOURCE_TYPES, VALUE_TYPES, Address
from .durations import seconds
from .errors import ConfigError, Diagnostic
from .yamlsrc import Path_, Source, dotted, parse
from .blocks import BLOCK_SECTIONS, Blocks, merge_block, merge_moved

SECTIONS = ("provider", "backend", "variables", *VALUE_TYPES, *RESOURCE_TYPES, "outputs", *BLOCK_SECTIONS)

Duration = Annotated[
    float,
    BeforeValidator(seconds),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h)?$"}]}),
]
"""Seconds, or a string such as `45m`: finite and non-negative, as every duration is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _problem_of_url(url: str, schemes: tuple[str, ...]) -> str | None:
    """What is wrong with `url` (a scheme not in `schemes`, no host, a bad port), or None."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        return "scheme"
    try:
        parts.port
    except ValueError:
        return "port"
    return None


def _url(value: str) -> str:
    problem = _problem_of_url(value, ("http", "https"))
    if problem:
        raise ValueError(f"{value!r} is not an http:// or https:// URL" if problem == "scheme" else f"{value!r} has an invalid port")
    return value


Url = Annotated[str, AfterValidator(_url)]


class ProviderSettings(_Strict):
    """Where SageMaker is: the embedded local server (default) or AWS."""

    type: Literal["local", "aws"] = "local"
    region: str | None = None
    profile: str | None = None
    endpoint_url: Url | None = None
    endpoints: dict[str, Url] = Field(
        default_factory=dict, description="Service name (ec2, s3, sagemaker-runtime, ...) -> URL, overriding endpoint_url"
    )
    artifact_bucket: str | None = None
    url: str = "http://127.0.0.1:8765"
    """The local server's URL: plain http, a host and a numeric port."""
    runtime: Literal["process", "docker"] = "process"
    home: str | None = None
    python: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = Field(default=8, ge=1, le=50)
    timeout: Duration = Field(default=3600.0, gt=0, description="Longest wait for one endpoint, in seconds (or 45m, 1h)")
    s3_endpoint_url: Literal["local"] | Url | None = Field(
        default=None, description="local target: the S3 its server reads and writes s3:// through; 'local' starts one"
    )

    @field_validator("url")
    @classmethod
    def _local_url(cls, value: str) -> str:
        return check_local_url(value)

    @field_validator("s3_endpoint_url")
    @classmethod
    def _local_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("type") == "aws":
            raise ValueError("is for the local target; with type aws, use endpoints: {s3: URL}")
        return value

    @field_validator("endpoints")
    @classmethod
    def _known_services(cls, endpoints: dict[str, str]) -> dict[str, str]:
        """A mistyped service would silently send that service to AWS: only names botocore knows."""
        from .aws import known_services

        known = known_services()
        unknown = []
        for name in endpoints:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                unknown.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        if unknown:
            raise ValueError(f"unknown AWS service {', '.join(unknown)}; use botocore's service names (ec2, s3, ...)")
        return endpoints


def check_local_url(url: str) -> str:
    """`url` if it is http://HOST:PORT (the local server's form); ValueError saying what is wrong otherwise."""
    problem = _problem_of_url(url, ("http",))
    if problem == "scheme":
        raise ValueError(f"invalid local server URL {url!r}: use http://HOST:PORT, e.g. http://127.0.0.1:8765")
    if problem == "port":
        raise ValueError(f"invalid local server URL {url!r}: the port must be a number from 0 to 65535")
    return url


class BackendSettings(_Strict):
    """Where the statefile lives."""

    type: Literal["local", "s3"] = "local"
    path: str | None = None
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: Url | None = None


class Variable(_Strict):
    default: Any = None
    description: str = ""
    sensitive: bool = False
    type: Literal["string", "number", "bool", "list", "map", "any"] = "any"


class Lifecycle(_Strict):
    """Guards users put on a resource: never destroy it, or ignore changes to some paths."""

    prevent_destroy: bool = False
    ignore_changes: list[str] | Literal["all"] = Field(default_factory=list)


@dataclass(frozen=True)
class ResourceDecl:
    """One declared resource: its address, the raw body (references unresolved) and its guards."""

    address: Address
    body: dict[str, Any]
    file: str
    lifecycle: Lifecycle = Lifecycle()
    name: str | None = None
    depends_on: tuple[Address, ...] = ()
    for_each: Any = None
    """The map or list of strings this block makes one instance per key of (expand.py)."""
    provider: str | None = None
    """The named provider (`providers:`) the object lives in; None: the default `provider:`."""

    @property
    def tags(self) -> Any:
        return self.body.get("tags", {})


@dataclass
class Config:
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)
    variables: dict[str, Variable] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[Address, ResourceDecl] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    locations: dict[str, tuple[str, Path_]] = field(default_factory=dict)
    blocks: Blocks = field(default_factory=Blocks)
    """Named providers, modules, data sources and moved entries (blocks.py)."""

    def where(self, key: str, sub: Path_ = ()) -> tuple[str, int | None]:
        """File and line of a section key such as `models.churn`, or of a path below it."""
        file, path = self.locations.get(key, ("smstate.yaml", ()))
        source = self.sources.get(file)
        return file, (source.line(path + sub) if source else None)

    def diagnostic(self, key: str, sub: Path_, message: str) -> Diagnostic:
        file, line = self.where(key, sub)
        return Diagnostic(file, line, dotted(tuple(key.split(".")) + sub), message)


def load(files: list[tuple[str, str]]) -> Config:
    """Parse and merge config files given as (name, text) pairs."""
    config = Config()
    problems: list[Diagnostic] = []
    for name, text in files:
        try:
            source = parse(text, name)
        except ConfigError as exc:
            problems += exc.diagnostics
            continue
        config.sources[name] = source
        _merge(config, source, problems)
    if problems:
        raise ConfigError(problems)
    return config


def _merge(config: Config, source: Source, problems: list[Diagnostic]) -> None:
    data = source.data
    if not isinstance(data, dict):
        problems.append(Diagnostic(source.file, 1, "", "the config must be a map of sections"))
        return
    for section, body in data.items():
        if section not in SECTIONS:
            problems.append(Diagnostic(source.file, source.line((section,)), section, "unknown section"))
            continue
        if section in ("provider", "backend"):
            if section in config.locations:
                problems.append(_dup(source, (section,), section))
                continue
            config.locations[section] = (source.file, (section,))
            model = ProviderSettings if section == "provider" else BackendSettings
            settings = _envelope(model, body, source, (section,), problems)
            if settings is not None:
                setattr(config, section, settings)
            continue
        if body is None:
            continue
        if section == "moved":
            merge_moved(config.blocks, source, body, problems)
            continue
        if not isinstance(body, dict):
            problems.append(Diagnostic(source.file, source.line((section,)), section, "expected a map"))
            continue
        for key, value in body.items():
            _merge_entry(config, source, section, str(key), value, problems)


def _merge_entry(
    config: Config, source: Source, section: str, key: str, value: Any, problems: list[Diagnostic]
) -> None:
    path: Path_ = (section, key)
    full = f"{section}.{key}"
    if full in config.locations:
        problems.append(_dup(source, path, full))
        return
    config.locations[full] = (source.file, path)
    if section == "outputs":
        config.outputs[key] = value
        return
    if section == "providers":
        settings = _envelope(ProviderSettings, value, source, path, problems)
        if settings is not None:
            config.blocks.providers[key] = settings
        return
    if section in BLOCK_SECTIONS:
        merge_block(config.blocks, source, section, key, value, problems)
        return
    if section == "variables":
        var = _envelope(Variable, value if value is not None else {}, source, path, problems)
        if var is not None:
            config.variables[key] = var
        return
    if not NAME_RE.match(key):
        problems.append(Diagnostic(source.file, source.line(path), full, "names use letters, digits, - and _"))
        return
    if section in VALUE_TYPES:
        config.values.setdefault(section, {})[key] = value
        return
    _merge_resource(config, source, Address(section, key), value, problems)


def _merge_resource(
    config: Config, source: Source, address: Address, value: Any, problems: list[Diagnostic]
) -> None:
    path: Path_ = (address.type, address.name)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problems.append(Diagnostic(source.file, source.line(path), str(address), "expected a map"))
        return
    body = dict(value)
    lifecycle = _envelope(Lifecycle, body.pop("lifecycle", {}) or {}, source, path + ("lifecycle",), problems)
    depends: list[Address] = []
    listed = body.pop("depends_on", []) or []
    if not isinstance(listed, list):
        problems.append(Diagnostic(source.file, source.line(path + ("depends_on",)), f"{address}.depends_on", "expected a list of addresses"))
        listed = []
    for i, dep in enumerate(listed):
        try:
            depends.append(Address.parse(str(dep)))
        except Exception as exc:  # noqa: BLE001 - reported as a diagnostic
            problems.append(Diagnostic(source.file, source.line(path + ("depends_on", i)), f"{address}.depends_on", str(exc)))
    name = body.pop("name", None)
    if name is not None and not isinstance(name, str):
        problems.append(Diagnostic(source.file, source.line(path + ("name",)), f"{address}.name", "expected a string"))
        name = None
    for_each = body.pop("for_each", None)
    provider = body.pop("provider", None)
    if provider is not None and not isinstance(provider, str):
        problems.append(Diagnostic(source.file, source.line(path + ("provider",)), f"{address}.provider", "expected the name of a provider"))
        provider = None
    config.resources[address] = ResourceDecl(
        address, body, source.file, lifecycle or Lifecycle(), name, tuple(depends), for_each, provider
    )


def _envelope(model: type[_Strict], body: Any, source: Source, path: Path_, problems: list[Diagnostic]) -> Any:
    try:
        return model.model_validate(body if body is not None else {})
    except ValidationError as exc:
        for err in exc.errors():
            sub = path + tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "value_error":  # our own validators' messages, without pydantic's prefix
                message = str(err.get("ctx", {}).get("error", message))
            problems.append(Diagnostic(source.file, source.line(sub), dotted(sub), message))
        return None


def _dup(source: Source, path: Path_, what: str) -> Diagnostic:
    return Diagnostic(source.file, source.line(path), what, "declared twice")

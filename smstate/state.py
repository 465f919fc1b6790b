"""The state: what smstate created, by address, as last seen. Format in state/statefile.schema.json.

The state is the only record tying an address to a physical object, so it is written after
every completed operation. Objects replaced but not yet deleted stay listed as `deposed`,
so a crash between the create of the new object and the delete of the old one leaks nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import __version__
from .addresses import Address
from .errors import StateError
from .hashing import StateKey
from .resources import BY_STATE_TYPE, KINDS
from .values import is_secret

FORMAT_VERSION = 1


@dataclass
class ObjectState:
    """One physical object: a managed resource, or a deposed one waiting to be deleted."""

    type: str
    physical_name: str | None = None
    arn: str | None = None
    spec_hash: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    version: int | None = None
    created: str | None = None
    modified: str | None = None
    """When the API last saw the object change (`Listing.modified_member`), as read back."""
    status: str = "ready"
    deposed: list[ObjectState] = field(default_factory=list)
    provider: str | None = None
    """The named provider (`providers:`) the object lives in; None: the default `provider:`."""

    @property
    def id(self) -> str:
        """What the provider finds the object by: its name, or its ARN for model packages."""
        return self.physical_name or self.arn or ""

    def to_json(self) -> dict[str, Any]:
        """The statefile's record. Shares the nested values with this object: serialise or compare it, not edit it."""
        out = {name: getattr(self, name) for name in _OBJECT_FIELDS}
        if self.deposed:
            out["deposed"] = [d.to_json() for d in self.deposed]
        if self.version is None:
            del out["version"]
        if self.created is None:
            del out["created"]
        if self.modified is None:
            del out["modified"]
        if self.provider is None:
            del out["provider"]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectState:
        deposed = [cls.from_json(d) for d in data.get("deposed", [])]
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "deposed"}
        obj = cls(**fields, deposed=deposed)
        if not isinstance(obj.type, str) or not isinstance(obj.spec, dict) or not isinstance(obj.attributes, dict):
            raise TypeError("resource fields have the wrong types")
        return obj


_OBJECT_FIELDS = tuple(name for name in ObjectState.__dataclass_fields__ if name != "deposed")


@dataclass
class State:
    lineage: str = field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    resources: dict[str, ObjectState] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    smstate_version: str = __version__
    key_id: str | None = None
    """The id of the key the file's hashes were made with, as read; None before keys existed."""
    key: StateKey | None = field(default=None, compare=False)
    """The key hashes are made with now (statekey.py); never written to the statefile."""
    previous_key: StateKey | None = field(default=None, compare=False)
    """Set while the recorded hashes are under another key than `key`: the next plan re-keys them."""
    key_problem: str | None = field(default=None, compare=False)
    """Why `key` is missing: the key this state was written with is not at hand."""

    @property
    def hash_key(self) -> StateKey:
        if self.key is None:
            raise StateError(self.key_problem or "this state has no key to hash sensitive values with")
        return self.key

    def to_json(self) -> dict[str, Any]:
        written_with = self.key.id if self.key is not None and self.previous_key is None else self.key_id
        return {
            "format_version": FORMAT_VERSION,
            "serial": self.serial,
            "lineage": self.lineage,
            **({"key_id": written_with} if written_with else {}),
            "smstate_version": self.smstate_version,
            "resources": {a: r.to_json() for a, r in sorted(self.resources.items())},
            "outputs": self.outputs,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    def snapshot(self) -> State:
        """A copy that later changes to this state do not reach, so it can be written while they go on.

        Objects are copied one level deep: changes replace an object's fields, never edit them.
        """
        resources = {a: replace(r, deposed=list(r.deposed)) for a, r in self.resources.items()}
        return replace(self, resources=resources, outputs=dict(self.outputs))

    @classmethod
    def loads(cls, text: str, where: str) -> State:
        """Parse a statefile; anything malformed or from a newer smstate is a StateError."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(f"{where} is not valid JSON (line {exc.lineno}): {exc.msg}; the file was left untouched") from None
        if not isinstance(data, dict):
            raise StateError(f"{where} is not a statefile (expected a JSON object); the file was left untouched")
        version = data.get("format_version")
        if not isinstance(version, int):
            raise StateError(f"{where} has no format_version; the file was left untouched")
        if version > FORMAT_VERSION:
            raise StateError(
                f"{where} has format_version {version}, newer than this smstate understands ({FORMAT_VERSION}); upgrade smstate"
            )
        try:
            _Statefile.model_validate(data)
            resources = {str(a): ObjectState.from_json(r) for a, r in data["resources"].items()}
            state = cls(
                lineage=str(data["lineage"]),
                serial=int(data["serial"]),
                resources=resources,
                outputs=dict(data.get("outputs") or {}),
                smstate_version=str(data.get("smstate_version", "")),
                key_id=data.get("key_id"),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(p) for p in first["loc"]) or "(top)"
            raise StateError(f"{where} is malformed ({path}: {first['msg']}); the file was left untouched") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"{where} is malformed ({exc}); the file was left untouched") from None
        return state


class _Object(BaseModel):
    """The types state/statefile.schema.json gives one object; what a mistyped field would break later."""

    model_config = ConfigDict(strict=True, extra="ignore")

    type: str
    physical_name: str | None = None
    arn: str | None = None
    spec_hash: str = ""
    spec: dict[str, Any] = {}
    tags: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    dependencies: list[str] = []
    version: int | None = None
    created: str | None = None
    modified: str | None = None
    status: Literal["ready", "creating", "tainted", "gone"] = "ready"
    deposed: list[_Object] = []
    provider: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in BY_STATE_TYPE:
            raise ValueError(f"unknown object type {value!r}; expected one of {', '.join(BY_STATE_TYPE)}")
        return value


class _Statefile(BaseModel):
    """A statefile is checked whole before it is used: a damaged one is refused, never half-read."""

    model_config = ConfigDict(strict=True, extra="ignore")

    serial: int = Field(ge=0)
    lineage: str = Field(min_length=1)
    key_id: str | None = None
    smstate_version: str = ""
    resources: dict[str, _Object]
    outputs: dict[str, Any] = {}

    @model_validator(mode="after")
    def _addresses(self) -> _Statefile:
        for address, obj in self.resources.items():
            parsed, rest = Address.parse_prefix(address)
            if parsed is None or rest:
                raise ValueError(f"{address!r} is not an address (TYPE.NAME)")
            if any(o.type != KINDS[parsed.type].state_type for o in (obj, *obj.deposed)):
                raise ValueError(f"{address} records an object of another type")
        return self


def redact(value: Any, key: StateKey | str) -> Any:
    """Replace sensitive values, of any type, by a keyed hash: diffable, never readable.

    A plain string key is the lineage of a statefile written before state keys existed.
    """
    key = key if isinstance(key, StateKey) else StateKey.of_lineage(key)
    if is_secret(value) and (isinstance(value, str) or not key.legacy):
        return _hidden(value, key)
    if isinstance(value, dict):
        return {k: redact(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


def _hidden(value: Any, key: StateKey) -> str:
    return f"(sensitive:{key.value_digest(value)})"


def redact_like(live: Any, spec: Any, key: StateKey | str) -> Any:
    """Hide in a live read every value the applied spec marks sensitive, at the same path.

    The live value is hashed with the same key, so a secret changed by hand still shows as
    drift, without ever being stored or shown.
    """
    if is_redacted(spec) and live is not None and not is_redacted(live):
        return _hidden(live, key if isinstance(key, StateKey) else StateKey.of_lineage(key))
    if isinstance(spec, dict) and isinstance(live, dict):
        return {k: redact_like(v, spec.get(k), key) for k, v in live.items()}
    if isinstance(spec, list) and isinstance(live, list):
        return [redact_like(v, spec[i] if i < len(spec) else None, key) for i, v in enumerate(live)]
    return live


def recorded(obj: ObjectState) -> dict[str, Any]:
    """What was applied, tags included: where a live read must be redacted like the spec."""
    return {**obj.spec, "tags": obj.tags} if obj.tags else obj.spec


def is_redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("(sensitive:")

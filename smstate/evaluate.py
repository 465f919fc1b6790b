"""From config to desired specs: resolve references in dependency order, validate, name.

Pure: values in (config, variable values, what state knows, artifact digests), values out.
A value known only after apply stays `Unknown`; the executor completes it (completion.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import shapes
from .artifacts import artifact_problems, localize_artifacts, placeholder_artifacts
from .addresses import Address
from .config import Config, Lifecycle, ResourceDecl
from .errors import ConfigError, Diagnostic
from .graph import CycleError, Graph
from .hashing import StateKey, physical_name, sanitize
from .references import Ref, RefError, dig, find, parse_ref, resolve, unexpanded
from .names import check_unique_names, logical_name, name_only
from .resources import KINDS, Kind, Tagging
from .values import Unknown, has_secret, has_unknown, like

Digest = Callable[[str], str | None]
"""SHA-256 of a local artifact, None when it is missing; ValueError when it is not a regular file."""


@dataclass(frozen=True)
class Desired:
    """What the config asks for one resource, with every knowable value resolved."""

    address: Address
    kind: Kind
    spec: dict[str, Any]
    physical_name: str | Unknown | None
    spec_hash: str | Unknown
    tags: dict[str, str]
    lifecycle: Lifecycle
    dependencies: tuple[Address, ...]
    pinned: bool = False
    previous_hash: str | None = None
    """The spec hash under the state's previous key, while a state is re-keyed (rekey.py)."""
    provider: str | None = None  # the named provider (providers:) it lives in; None: the default one

    @property
    def request(self) -> dict[str, Any]:
        """The create request (PascalCase) without the name and tags."""
        return shapes.to_request(self.kind.create_shape, {k: v for k, v in self.spec.items() if k in self._create_fields})

    @property
    def _create_fields(self) -> set[str]:
        return self.kind.request_fields(self.kind.create)


def hashed_request(kind: Kind, spec: dict[str, Any]) -> dict[str, Any]:
    """The part of a create request that makes the object what it is: all but its mutable fields."""
    fields = kind.request_fields(kind.create) - kind.changeable - kind.settings
    request: dict[str, Any] = shapes.to_request(kind.create_shape, {k: v for k, v in spec.items() if k in fields})
    return request


@dataclass(frozen=True)
class Known:
    """What state knows of an existing object, for `arn` and `version` references."""

    physical_name: str | None
    arn: str | None
    spec_hash: str | None
    version: int | None = None


@dataclass
class Evaluation:
    desired: dict[Address, Desired] = field(default_factory=dict)
    graph: Graph = field(default_factory=lambda: Graph({}))
    outputs: dict[str, Any] = field(default_factory=dict)


def dependencies(decl: ResourceDecl) -> set[Address]:
    deps = set(decl.depends_on)
    for _, text in find(decl.body):
        try:
            ref = parse_ref(text)
        except RefError:
            continue
        if ref.address is not None and not name_only(decl.address, ref):
            deps.add(ref.address)
    return deps



def build_graph(config: Config) -> Graph:
    """The graph of declared resources; unknown addresses and cycles are config errors."""
    problems: list[Diagnostic] = []
    edges: dict[Address, set[Address]] = {}
    for address, decl in config.resources.items():
        edges[address] = set()
        for dep in dependencies(decl):
            if dep in config.resources:
                edges[address].add(dep)
            else:
                path = _ref_path(decl, dep)
                problems.append(config.diagnostic(str(address), path, f"reference to undeclared resource {dep}"))
    if problems:
        raise ConfigError(problems)
    graph = Graph(edges)
    try:
        graph.order()
    except CycleError as exc:
        first = exc.cycle[0]
        raise ConfigError(
            [config.diagnostic(str(first), (), "dependency cycle: " + " -> ".join(str(a) for a in exc.cycle))]
        ) from None
    return graph


def _ref_path(decl: ResourceDecl, dep: Address) -> tuple[str | int, ...]:
    for path, text in find(decl.body):
        if text.startswith(f"{dep}."):
            return path
    return ("depends_on",) if dep in decl.depends_on else ()


def evaluate(
    config: Config,
    variables: Mapping[str, Any],
    known: Mapping[Address, Known],
    digest: Digest,
    base_dir: str = ".",
    only: set[Address] | None = None,
    graph: Graph | None = None,
    keys: Keys | None = None,
) -> Evaluation:
    """Resolve and validate every declared resource.

    With `only` (and the graph of an earlier full evaluation), just these addresses are
    resolved, against a config already checked in full.
    `keys` key the hashes of specs that hold sensitive values (the state's key, and the previous
    one while the state is re-keyed); without them a one-off key serves a check.
    """
    graph = graph or build_graph(config)
    result = Evaluation(graph=graph)
    problems: list[Diagnostic] = []
    for address in graph.order():
        if only is not None and address not in only:
            continue
        decl = config.resources[address]
        desired = _evaluate_one(config, decl, variables, known, result.desired, digest, base_dir, problems, keys or Keys())
        if desired is not None:
            result.desired[address] = desired
    if only is None:
        _check_values(config, variables, problems)
        check_unique_names(config, result.desired, problems)
    if problems:
        raise ConfigError(problems)
    if only is None:
        result.outputs = outputs(config, variables, known, result.desired)
    return result


def outputs(
    config: Config, variables: Mapping[str, Any], known: Mapping[Address, Known], desired: Mapping[Address, Desired]
) -> dict[str, Any]:
    problems: list[Diagnostic] = []
    lookup = _lookup(config, variables, known, desired, None, [])
    out: dict[str, Any] = {}
    for name, expr in config.outputs.items():
        try:
            out[name] = resolve(expr, lookup)
        except (RefError, KeyError) as exc:
            problems.append(config.diagnostic(f"outputs.{name}", (), str(exc).strip('"')))
    if problems:
        raise ConfigError(problems)
    return out


def _evaluate_one(
    config: Config,
    decl: ResourceDecl,
    variables: Mapping[str, Any],
    known: Mapping[Address, Known],
    done: Mapping[Address, Desired],
    digest: Digest,
    base_dir: str,
    problems: list[Diagnostic],
    keys: Keys,
) -> Desired | None:
    """One resource resolved, checked and named; None (with `problems` told why) when it cannot be."""
    kind = KINDS[decl.address.type]
    before = len(problems)
    spec: dict[str, Any] = {}
    lookup = _lookup(config, variables, known, done, decl, problems)
    for field_name, raw in decl.body.items():
        if field_name == "tags":
            continue
        try:
            spec[field_name] = resolve(raw, lookup)
        except (RefError, KeyError) as exc:
            problems.append(config.diagnostic(str(decl.address), (field_name,), str(exc).strip('"')))
    tags = _tags(config, decl, lookup, problems)
    if len(problems) > before:
        return None
    spec = localize_artifacts(spec, base_dir)
    problems += [config.diagnostic(str(decl.address), path, message) for path, message in spec_problems(kind, spec, digest)]
    if len(problems) > before:
        return None
    return _named(config, decl, kind, (spec, tags), known.get(decl.address), digest, keys, problems)


def spec_problems(kind: Kind, spec: dict[str, Any], digest: Digest) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong with a resolved spec: unknown fields, values the API refuses, missing
    required fields, missing local artifacts."""
    fields = kind.fields()
    out: list[tuple[tuple[str | int, ...], str]] = []
    for field_name, value in placeholder_artifacts(spec).items():
        if field_name not in fields:
            out.append(((field_name,), _unknown_field(field_name, fields)))
        else:
            out += shapes.validate(fields[field_name], value, (field_name,))
    out += [((), f"{field_name}: field required") for field_name in kind.required() if field_name not in spec]
    if kind.check is not None and not out:
        out += kind.check(spec)
    return out + artifact_problems(spec, digest)


def _named(
    config: Config, decl: ResourceDecl, kind: Kind, content: tuple[dict[str, Any], dict[str, str]], known: Known | None,
    digest: Digest, keys: Keys, problems: list[Diagnostic],
) -> Desired | None:
    """The desired object with its spec hash and physical name (None when the name is invalid)."""
    spec, tags = content
    key = str(decl.address)
    deps = tuple(sorted(dependencies(decl)))
    request = hashed_request(kind, spec)
    digest_hex: str | Unknown = Unknown(f"{key}.spec_hash")
    previous: str | None = None
    if not has_unknown(request):
        sensitive = has_secret(spec)
        digest_hex = keys.current.spec_digest(request, digest, sensitive)
        previous = keys.previous.spec_digest(request, digest, sensitive) if keys.previous and sensitive else None
    name = kind.composite_id(spec) if kind.composite_id else name_for(kind, decl.address, decl.name, digest_hex, known, previous)
    name_problem = check_name(kind, name)
    if name_problem:
        problems.append(config.diagnostic(key, ("name",) if decl.name else (), name_problem))
        return None
    return Desired(decl.address, kind, spec, name, digest_hex, tags, decl.lifecycle, deps, decl.name is not None, previous, decl.provider)


@dataclass(frozen=True)
class Keys:
    """The keys of a state's hashes: its own, and the one it is being re-keyed from."""

    current: StateKey = field(default_factory=StateKey.generate)
    previous: StateKey | None = None


def name_for(
    kind: Kind, address: Address, pinned: str | None, digest_hex: str | Unknown, known: Known | None, previous: str | None
) -> str | Unknown | None:
    """An object whose recorded spec hash is this spec's (under this key or the previous one) keeps
    its recorded name: re-keying a state never renames, so never replaces, what it holds."""
    if kind.name_member is None:
        return None
    if pinned is not None:
        return pinned
    if not kind.hashed:
        return sanitize(address.label)
    if isinstance(digest_hex, Unknown):
        return Unknown(f"{address}.name")
    if known is not None and known.physical_name and known.spec_hash and known.spec_hash in (digest_hex, previous):
        return known.physical_name
    return physical_name(address.label, digest_hex)


def check_name(kind: Kind, name: str | Unknown | None) -> str | None:
    if not isinstance(name, str) or kind.name_member is None:
        return None
    shape = kind.create_shape.members[kind.name_member]
    problems = shapes.validate(shape, name)
    return f"physical name {name!r} is invalid: {problems[0][1]}" if problems else None


def _tags(config: Config, decl: ResourceDecl, lookup: Callable[[Ref], Any], problems: list[Diagnostic]) -> dict[str, str]:
    key = str(decl.address)
    raw = decl.body.get("tags") or {}
    if not isinstance(raw, dict):
        problems.append(config.diagnostic(key, ("tags",), "expected a map of strings"))
        return {}
    if raw and (kind := KINDS[decl.address.type]).tags is Tagging.NONE:
        problems.append(config.diagnostic(key, ("tags",), f"a {kind.state_type.replace('_', ' ')} carries no tags"))
        return {}
    try:
        tags = resolve(raw, lookup)
    except (RefError, KeyError) as exc:
        problems.append(config.diagnostic(key, ("tags",), str(exc).strip('"')))
        return {}
    tag_shape = shapes.named("Tag")
    out: dict[str, str] = {}
    for k, v in tags.items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            problems.append(config.diagnostic(key, ("tags", k), "tag values are strings"))
            continue
        if k.startswith(("smstate:", "aws:")):
            problems.append(config.diagnostic(key, ("tags", k), "tag keys starting with smstate: or aws: are reserved"))
            continue
        text = like(v, str(v))  # str() of a marked value is plain: mark it again
        for path, message in shapes.validate(tag_shape, {"key": k, "value": text}):
            problems.append(config.diagnostic(key, ("tags", k), f"{path[0]}: {message}"))
        out[k] = text
    return out


def _lookup(
    config: Config,
    variables: Mapping[str, Any],
    known: Mapping[Address, Known],
    done: Mapping[Address, Desired],
    decl: ResourceDecl | None,
    problems: list[Diagnostic],
) -> Callable[[Ref], Any]:
    def lookup(ref: Ref) -> Any:
        if ref.sort == "var":
            if ref.name not in variables:
                raise RefError(f"${{{ref.text}}}: undeclared variable {ref.name!r}")
            return dig(variables[ref.name], ref.attr, ref)
        if ref.sort == "value":
            values = config.values.get(ref.head, {})
            if ref.name not in values:
                raise RefError(f"${{{ref.text}}}: undeclared {ref.head} {ref.name!r}")
            return dig(resolve(values[ref.name], lookup), ref.attr, ref)
        address = ref.address
        if address is None:  # data, each, module: what expansion did not replace
            return unexpanded(ref)
        if address not in config.resources:
            raise RefError(f"${{{ref.text}}}: undeclared resource {address}")
        target = done.get(address)
        if target is None:
            name = logical_name(config, address) if ref.attr == ("name",) else None
            return name if name is not None else Unknown(ref.text)
        return dig(_attribute(target, ref.attr[0], known.get(address), ref), ref.attr[1:], ref)

    return lookup


def _attribute(target: Desired, attr: str, known: Known | None, ref: Ref) -> Any:
    if attr == "name":
        if target.physical_name is None:
            raise RefError(f"${{{ref.text}}}: {target.address.type} have no name; use .arn")
        return target.physical_name
    if attr in ("arn", "version"):
        same = known is not None and (
            (target.physical_name is not None and known.physical_name == target.physical_name)
            or (target.physical_name is None and known.spec_hash == target.spec_hash)
        )
        value = getattr(known, attr) if same and known is not None else None
        return value if value is not None else Unknown(ref.text)
    if attr in target.spec:
        return target.spec[attr]
    if attr == "tags":
        return target.tags
    raise RefError(f"${{{ref.text}}}: {target.address} has no attribute {attr!r}")


def _unknown_field(name: str, fields: Mapping[str, Any]) -> str:
    import difflib

    hint = difflib.get_close_matches(name, list(fields), n=1)
    return "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else "")


def _check_values(config: Config, variables: Mapping[str, Any], problems: list[Diagnostic]) -> None:
    """Named VPC settings are checked on their own, referenced or not."""
    shape = shapes.named("VpcConfig")
    lookup = _lookup(config, variables, {}, {}, None, problems)
    for name, raw in config.values.get("vpc_configs", {}).items():
        key = f"vpc_configs.{name}"
        try:
            value = resolve(raw, lookup)
        except (RefError, KeyError) as exc:
            problems.append(config.diagnostic(key, (), str(exc).strip('"')))
            continue
        for path, message in shapes.validate(shape, value):
            problems.append(config.diagnostic(key, path, message))


"""Expansion: `for_each` blocks and module calls become one flat set of resources.

Every instance gets its own address (`models.m["churn"]`, `module.checkout.models.main`),
its own body with `each`, module variables, module outputs and data source results put
in, and its references given their module path. What follows (evaluate, plan, apply) sees
plain resources. Pure: module files and data source results come in through functions.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .addresses import KEY_RE, Address, instance
from .blocks import DataDecl, ModuleCall
from .config import Config, ResourceDecl, load
from .errors import ConfigError, Diagnostic
from .yamlsrc import dotted
from .references import RefError, dig, find, parse_ref, resolve
from .substitute import Scope, rewrite

ModuleFiles = Callable[[str], list[tuple[str, str]]]
"""A module directory (relative to the config's) -> its config files as (name, text), names
relative to the config's directory; LookupError saying why when there are none."""
DataRead = Callable[[DataDecl, dict[str, Any], str | None], dict[str, Any]]
"""A data source, its resolved arguments and its provider -> what it read (raises SmstateError)."""


def needs_expansion(config: Config) -> bool:
    blocks = config.blocks
    return bool(blocks.modules or blocks.data or any(d.for_each is not None for d in config.resources.values()))


@dataclass
class _Run:
    out: Config
    variables: Mapping[str, Any]
    files: ModuleFiles | None
    read: DataRead | None
    problems: list[Diagnostic]


def expand(config: Config, variables: Mapping[str, Any], files: ModuleFiles | None = None,
           read: DataRead | None = None) -> Config:
    """The flat config: every for_each instance and module resource as a resource of its own.

    Without `read`, data source results stay unknown (`(known after apply)`) and a block whose
    for_each needs one has no instances yet."""
    if not needs_expansion(config):
        return config
    out = Config(config.provider, config.backend, config.variables, config.values, {}, {},
                 dict(config.sources), dict(config.locations), replace(config.blocks, read={}, uses={}))
    run = _Run(out, variables, files, read, [])
    scope = Scope(values=config.values, variables=dict(variables))
    _expand_scope(run, config, scope, ".", None, ("smstate.yaml",))
    for name, expr in config.outputs.items():
        try:
            out.outputs[name] = rewrite(expr, scope)
        except RefError as exc:
            run.problems.append(config.diagnostic(f"outputs.{name}", (), str(exc)))
    if run.problems:
        raise ConfigError(run.problems)
    return out


def _expand_scope(run: _Run, config: Config, scope: Scope, directory: str, provider: str | None,
                  chain: tuple[str, ...]) -> None:
    scope.declared = {f"{a.type}.{a.name}": d.for_each for a, d in config.resources.items()}
    for key, data in config.blocks.data.items():
        scope.data[key] = _read_data(run, config, scope, data, provider)
    _expand_modules(run, config, scope, directory, provider, chain)
    for decl in config.resources.values():
        for each in _instances(run, config, scope, str(decl.address), decl.for_each):
            _add_resource(run, config, replace(scope, each=each), decl, provider)


def _instances(run: _Run, config: Config, scope: Scope, where: str, for_each: Any) -> list[tuple[str, Any] | None]:
    """(key, value) of every instance; [None] for a block without for_each."""
    if for_each is None:
        return [None]
    try:
        found = _known(rewrite(for_each, scope), scope)
    except Unread:
        scope.deferred.add(where.removeprefix("modules."))  # known at plan, once the data source is read
        return []
    except RefError as exc:
        run.problems.append(config.diagnostic(where, ("for_each",), str(exc)))
        return []
    if isinstance(found, list) and all(isinstance(k, str) for k in found):
        pairs = [(k, k) for k in found]
    elif isinstance(found, dict):
        pairs = [(str(k), v) for k, v in found.items()]
    else:
        run.problems.append(config.diagnostic(where, ("for_each",), "expected a map or a list of strings"))
        return []
    bad = [k for k, _ in pairs if not KEY_RE.match(k)]
    if bad:
        run.problems.append(config.diagnostic(where, ("for_each",), f"invalid key {bad[0]!r}: keys use letters, digits, _, . and -"))
        return []
    if len({k for k, _ in pairs}) != len(pairs):
        run.problems.append(config.diagnostic(where, ("for_each",), "the same key twice"))
        return []
    return list(pairs)


class Unread(RefError):
    """A value that needs a data source not read yet (no provider at hand)."""


def _known(value: Any, scope: Scope) -> Any:
    """A value that must be known before anything is planned: literals, variables, data results."""

    def lookup(ref: Any) -> Any:
        if ref.sort == "var":
            if ref.name not in scope.variables:
                raise RefError(f"${{{ref.text}}}: undeclared variable {ref.name!r}")
            return dig(scope.variables[ref.name], ref.attr, ref)
        if ref.sort == "data":
            raise Unread(ref.text)
        raise RefError(f"${{{ref.text}}} is known only after apply: only literals, variables and data sources are known before the plan")

    return resolve(value, lookup)


def _add_resource(run: _Run, config: Config, scope: Scope, decl: ResourceDecl, provider: str | None) -> None:
    each = scope.each
    scope = replace(scope, used=set())
    address = scope.address(Address(decl.address.type, decl.address.name, each[0] if each else ""))
    key = str(address)
    body: dict[str, Any] = {}
    for field_name, raw in decl.body.items():
        try:
            body[field_name] = rewrite(raw, scope)
        except RefError as exc:
            file, line = config.where(str(decl.address), (field_name,))
            run.problems.append(Diagnostic(file, line, dotted((key, field_name)), str(exc)))
    if len(body) < len(decl.body):
        return
    run.out.locations[key] = config.locations.get(str(decl.address), (decl.file, (decl.address.type, decl.address.name)))
    depends = tuple(scope.address(d) for d in decl.depends_on)
    run.out.blocks.uses[address] = frozenset(scope.used)
    run.out.resources[address] = replace(
        decl, address=address, body=body, depends_on=depends, for_each=None, provider=decl.provider or provider
    )


def _read_data(run: _Run, config: Config, scope: Scope, decl: DataDecl, provider: str | None) -> Any:
    try:
        arguments = _known(rewrite(decl.body, scope), scope)
    except Unread:
        return None
    except RefError as exc:
        run.problems.append(config.diagnostic(f"data.{decl.type}", (decl.name,), str(exc)))
        return None
    if run.read is None:
        return None
    chosen = arguments.pop("provider", None) or provider
    found = run.read(decl, arguments, chosen)
    run.out.blocks.read[scope.data_key(f"{decl.type}.{decl.name}")] = found.get("arn") or found.get("name")
    return found


def _expand_modules(run: _Run, config: Config, scope: Scope, directory: str, provider: str | None,
                    chain: tuple[str, ...]) -> None:
    """Each module call, once the module outputs its inputs use are known (a cycle is an error)."""
    pending = dict(config.blocks.modules)
    while pending:
        ready = [c for c in pending.values() if not (_module_refs(c) & set(pending))]
        if not ready:
            names = sorted(pending)
            run.problems.append(config.diagnostic(f"modules.{names[0]}", (), "module cycle: " + " -> ".join(names + names[:1])))
            return
        for call in ready:
            del pending[call.name]
            _call_module(run, config, scope, call, directory, provider, chain)


def _module_refs(call: ModuleCall) -> set[str]:
    found = set()
    for _, text in find([call.inputs, call.for_each]):
        try:
            ref = parse_ref(text)
        except RefError:
            continue
        if ref.sort == "module":
            found.add(ref.head.partition("[")[0])
    return found


def _call_module(run: _Run, config: Config, scope: Scope, call: ModuleCall, directory: str,
                 provider: str | None, chain: tuple[str, ...]) -> None:
    where = f"modules.{call.name}"
    source = posixpath.normpath(posixpath.join(posixpath.dirname(call.file) or directory, call.source))
    if source in chain[1:] or posixpath.join(source, "smstate.yaml") in chain:
        run.problems.append(config.diagnostic(where, ("source",), "module cycle: " + " -> ".join((*chain, source))))
        return
    if run.files is None:
        run.problems.append(config.diagnostic(where, ("source",), "modules cannot be read here"))
        return
    try:
        child = load(run.files(source))
    except LookupError as exc:
        run.problems.append(config.diagnostic(where, ("source",), str(exc.args[0])))
        return
    except ConfigError as exc:
        run.problems.extend(exc.diagnostics)
        return
    run.out.sources.update(child.sources)
    for each in _instances(run, config, scope, where, call.for_each):
        _module_instance(run, config, scope, call, child, each, (source, provider, chain))


def _module_instance(run: _Run, config: Config, scope: Scope, call: ModuleCall, child: Config,
                     each: tuple[str, Any] | None, context: tuple[str, str | None, tuple[str, ...]]) -> None:
    source, provider, chain = context
    where = f"modules.{call.name}"
    segment = instance(call.name, each[0] if each else "")
    caller = replace(scope, each=each)
    try:
        given = rewrite(call.inputs, caller)
    except RefError as exc:
        run.problems.append(config.diagnostic(where, ("inputs",), str(exc)))
        return
    inputs: dict[str, Any] = {}
    before = len(run.problems)
    for name, var in child.variables.items():
        if name in given:
            inputs[name] = given[name]
        elif "default" in var.model_fields_set:
            inputs[name] = var.default
        else:
            run.problems.append(config.diagnostic(where, ("inputs",), f"no value given for the module's variable {name!r}"))
    for name in given:
        if name not in child.variables:
            run.problems.append(config.diagnostic(where, ("inputs", name), "the module declares no variable of that name"))
    if len(run.problems) > before:
        return
    inner = Scope(scope.module + (segment,), inputs, child.values, variables=scope.variables)
    _expand_scope(run, child, inner, source, call.provider or provider, (*chain, source))
    outputs: dict[str, Any] = {}
    for name, expr in child.outputs.items():
        try:
            outputs[name] = rewrite(expr, inner)
        except RefError as exc:
            run.problems.append(child.diagnostic(f"outputs.{name}", (), str(exc)))
    scope.outputs[segment] = outputs
    if each is None:
        scope.outputs[call.name] = outputs

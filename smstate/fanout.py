"""Work spread over several providers: each provider's objects are refreshed in parallel with
the others', creates are checked for ownership where they will be made, and the config's
named providers are loaded beside the default one."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from .changes import Change
from .config import Config
from .errors import ConfigError, SmstateError
from .ownership import check_creates
from .plan import LiveKey
from .provider import Live, Provider, load_provider
from .refresh import refresh_lives as refresh_one
from .routing import Providers, by_provider
from .state import State


def providers_for(config: Config, base_dir: str) -> Provider:
    """The default provider, or (with `providers:`) every provider routed by the object worked on."""
    default = load_provider(config.provider, base_dir)
    if not config.blocks.providers:
        return default
    found: dict[str | None, Provider] = {None: default}
    for name, settings in config.blocks.providers.items():
        found[name] = load_provider(settings, base_dir)
    return Providers(found, {str(address): decl.provider for address, decl in config.resources.items()})  # type: ignore[return-value]


def check_provider_names(config: Config) -> None:
    """Every `provider: NAME` names a declared provider."""
    problems = [
        config.diagnostic(str(address), ("provider",), f"no provider named {decl.provider!r} is declared under providers:")
        for address, decl in config.resources.items()
        if decl.provider is not None and decl.provider not in config.blocks.providers
    ]
    if problems:
        raise ConfigError(problems)


def route(provider: Any, config: Config, state: State) -> None:
    """Objects are worked on where their block says, and objects in state where state says they
    live; one recorded in another provider than its block now names is refused (it would be read
    and changed in the wrong place)."""
    if not isinstance(provider, Providers):
        return
    provider.routes = {str(address): decl.provider for address, decl in config.resources.items()}
    for address, obj in state.resources.items():
        wanted = provider.routes.get(address, obj.provider)
        if address in provider.routes and wanted != obj.provider and obj.status != "gone":
            raise SmstateError(
                f"{address} lives in provider {obj.provider or 'default'} but its block names {wanted or 'the default'}: "
                "destroy it first (smstate destroy --target), then apply"
            )
        provider.routes[address] = obj.provider


def refresh_lives(provider: Any, state: State, parallelism: int) -> dict[LiveKey, Live | None]:
    """Every object in state read from its own provider, each provider's objects in parallel with the others'."""
    providers = by_provider(provider)
    if len(providers) == 1:
        return refresh_one(next(iter(providers.values())), state, parallelism)
    parts = {name: replace(state, resources={a: o for a, o in state.resources.items() if o.provider == name}) for name in providers}
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = [pool.submit(refresh_one, providers[name], part, parallelism) for name, part in parts.items() if part.resources]
        out: dict[LiveKey, Live | None] = {}
        for future in futures:
            out.update(future.result())
    return out


def check_all_creates(provider: Any, changes: Iterable[Change], lineage: str, parallelism: int) -> None:
    """No create takes over an object someone else owns, in the provider it is made in."""
    providers = by_provider(provider)
    changes = list(changes)
    for name, one in providers.items():
        mine = [c for c in changes if not isinstance(provider, Providers) or provider.routes.get(str(c.address)) == name]
        if mine:
            check_creates(one, mine, lineage, parallelism)

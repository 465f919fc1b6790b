"""Several providers in one config: `providers:` beside the default `provider:`.

Each object lives in one provider (`provider: NAME` on its block or its module; the default
otherwise), which state records. `Providers` answers the provider interface by passing each
call to the provider of the object being worked on, which the caller names with `using`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .errors import SmstateError
from .provider import Created, Live, ProgressFn, Provider, Summary
from .resources import Kind

_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("smstate_provider", default=None)


class Providers:
    """The providers of a config by name (None: the default), routing by the object worked on."""

    name = "several"

    def __init__(self, providers: Mapping[str | None, Provider], routes: Mapping[str, str | None]) -> None:
        self.providers = dict(providers)
        self.routes = dict(routes)
        """Address -> the name of the provider its object lives in."""

    def __getattr__(self, name: str) -> Any:
        """What the default provider offers beyond the interface (`invoke`)."""
        return getattr(self.providers[None], name)

    @contextmanager
    def using(self, address: str) -> Iterator[None]:
        token = _CURRENT.set(self.routes.get(address))
        try:
            yield
        finally:
            _CURRENT.reset(token)

    def named(self, name: str | None) -> Provider:
        if name not in self.providers:
            raise SmstateError(f"no provider named {name!r} (declared: {', '.join(sorted(str(n) for n in self.providers if n))})")
        return self.providers[name]

    @property
    def _current(self) -> Provider:
        return self.named(_CURRENT.get())

    def read(self, kind: Kind, object_id: str) -> Live | None:
        return self._current.read(kind, object_id)

    def create(self, kind: Kind, name: str | None, request: dict[str, Any], tags: dict[str, str]) -> Created:
        return self._current.create(kind, name, request, tags)

    def update(self, kind: Kind, object_id: str, request: dict[str, Any]) -> None:
        self._current.update(kind, object_id, request)

    def set_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        self._current.set_tags(arn, add, remove)

    def delete(self, kind: Kind, object_id: str) -> None:
        self._current.delete(kind, object_id)

    def wait(self, kind: Kind, object_id: str, until: str, timeout: float, progress: ProgressFn) -> Live | None:
        return self._current.wait(kind, object_id, until, timeout, progress)

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        return self._current.list_ids(kind, name_prefix)

    def tags_of(self, arn: str) -> dict[str, str]:
        return self._current.tags_of(arn)

    def list_summaries(self, kind: Kind, created_after: str | None) -> dict[str, Summary]:
        return self._current.list_summaries(kind, created_after)

    def check_network(self, subnets: list[str], security_groups: list[str]) -> list[str]:
        return self._current.check_network(subnets, security_groups)

    def first_listed(self, kind: Kind, params: dict[str, Any]) -> str | None:
        return self._current.first_listed(kind, params)


@contextmanager
def using(provider: Any, address: str) -> Iterator[None]:
    """Calls inside go to the provider of `address` (a single provider: to it)."""
    if isinstance(provider, Providers):
        with provider.using(address):
            yield
    else:
        yield


def by_provider(provider: Any) -> dict[str | None, Any]:
    """Each provider by name; a single provider as the default one."""
    return dict(provider.providers) if isinstance(provider, Providers) else {None: provider}

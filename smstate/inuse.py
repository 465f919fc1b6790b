"""In-use guards: what must not be deleted while something still uses it.

An endpoint config is in use while an endpoint serves from it, and a model while an endpoint
config (the current one of an address, or a deposed one) names it in a variant. SageMaker lets
either be deleted anyway, and the endpoint then fails at its next scale-out, update or
rollback; so the planner keeps such objects and the executor refuses to delete them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .state import ObjectState

ServedBy = Callable[[str, ObjectState], "str | None"]
"""(address, recorded endpoint) -> the config it serves from; None: this endpoint does not count."""


def recorded_config(address: str, endpoint: ObjectState) -> str | None:
    """The config an endpoint served from when it was last read (refreshed into the state)."""
    name = endpoint.attributes.get("endpoint_config_name")
    return str(name) if name is not None else None


@dataclass
class Users:
    """Names of the configs and of the models in use -> what uses each (the first user found)."""

    configs: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)

    def of(self, obj: ObjectState) -> str | None:
        """What uses this config or model, described; None when nothing does."""
        found = self.configs if obj.type == "endpoint_config" else self.models if obj.type == "model" else {}
        return found.get(str(obj.physical_name))


def in_use(resources: Mapping[str, ObjectState], served_by: ServedBy, through_served: bool) -> Users:
    """The configs and models in use.

    A config is in use when `served_by` says an endpoint serves from it. A model is in use when
    a recorded config uses it; with `through_served`, only a config that is itself in use counts
    (the planner: the other configs are deleted by the same plan, before the model).
    """
    users = Users()
    for address, obj in resources.items():
        if obj.type == "endpoint" and obj.status != "gone":
            config = served_by(address, obj)
            if config is not None:
                users.configs.setdefault(config, f"endpoint {obj.id} ({address}) is still using it")
    for address, config_obj in _configs(resources.items()):
        if through_served and config_obj.physical_name not in users.configs:
            continue
        for model in models_of(config_obj):
            users.models.setdefault(model, f"endpoint config {config_obj.physical_name} ({address}) still uses it")
    return users


def models_of(config: ObjectState) -> set[str]:
    """The names of the models an endpoint config's variants use."""
    variants = config.spec.get("production_variants") or []
    return {str(v.get("model_name")) for v in variants if isinstance(v, dict) and v.get("model_name") is not None}


def _configs(items: Iterable[tuple[str, ObjectState]]) -> Iterator[tuple[str, ObjectState]]:
    """Every recorded endpoint config: the current one of an address (unless gone) and the deposed ones."""
    for address, obj in items:
        if obj.type != "endpoint_config":
            continue
        if obj.status != "gone":
            yield address, obj
        for deposed in obj.deposed:
            yield address, deposed

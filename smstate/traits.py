"""Trait types of a resource kind beyond the basics (`resources.Kind`): side updates, copies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SideUpdate:
    """A call that changes some mutable fields by themselves, without the rollout of the kind's update."""

    operation: str
    fields: dict[str, str]
    """Config field -> the request member of `operation` that takes it (`runtime_config` -> `DesiredRuntimeConfig`)."""


@dataclass(frozen=True)
class Copies:
    """Objects hosted as copies on an endpoint: where their description names it and counts the copies."""

    endpoint_member: str
    runtime_member: str
    desired_member: str
    current_member: str
    deployment_member: str

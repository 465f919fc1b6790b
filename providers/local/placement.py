"""Where the copies of inference components go on an endpoint's instances. Pure.

Each copy reserves its component's `NumberOfCpuCoresRequired` and
`MinMemoryRequiredInMb` on one instance; an instance holds copies while their sum
stays within the instance type's vCPUs and memory (`hosting.limits`). Copies are
placed largest first, each on the first instance with room (first-fit
decreasing). When they do not fit, managed instance scaling adds instances up to
its `MaxInstanceCount`; without it the copies are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.local.hosting.limits import GIB, instance_memory, instance_vcpus


@dataclass(frozen=True)
class Resources:
    """CPU cores and memory: what one copy reserves on its instance, or what one instance offers."""

    cpus: float
    memory_mb: int


def capacity(instance_type: str) -> Resources | None:
    """The vCPUs and memory of an `ml.*` type; None for a type the table does not know."""
    cpus, memory = instance_vcpus(instance_type), instance_memory(instance_type)
    if cpus is None or memory is None:
        return None
    return Resources(float(cpus), int(memory * 1024 // GIB))


def need_of(specification: dict[str, Any]) -> Resources:
    """The reservation of one copy, from a component's Specification."""
    compute = specification.get("ComputeResourceRequirements") or {}
    return Resources(float(compute.get("NumberOfCpuCoresRequired") or 0), int(compute.get("MinMemoryRequiredInMb") or 0))


def fits(room: Resources, needs: list[Resources], instances: int) -> bool:
    """Whether `needs` can all be placed on `instances` instances of `room`."""
    free = [[room.cpus, room.memory_mb] for _ in range(instances)]
    for need in sorted(needs, key=lambda n: (n.cpus, n.memory_mb), reverse=True):
        slot = next((f for f in free if f[0] >= need.cpus - 1e-9 and f[1] >= need.memory_mb), None)
        if slot is None:
            return False
        slot[0] -= need.cpus
        slot[1] -= need.memory_mb
    return True


def instances_needed(room: Resources | None, needs: list[Resources], current: int, maximum: int) -> int | None:
    """The fewest instances, at least `current` and at most `maximum`, that hold `needs`;
    None when even `maximum` cannot. An unknown instance type (no `room`) holds anything."""
    if room is None:
        return current
    for count in range(current, max(current, maximum) + 1):
        if fits(room, needs, count):
            return count
    return None

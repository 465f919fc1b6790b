"""The dependency graph: references and `depends_on` are edges, order follows them."""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Mapping

from .addresses import Address


def closure(start: Iterable[Address], neighbours: Callable[[Address], Iterable[Address]]) -> set[Address]:
    """`start` and everything reachable from it through `neighbours`."""
    found = set(start)
    stack = list(found)
    while stack:
        for item in neighbours(stack.pop()):
            if item not in found:
                found.add(item)
                stack.append(item)
    return found


class CycleError(ValueError):
    def __init__(self, cycle: list[Address]) -> None:
        self.cycle = cycle
        super().__init__(" -> ".join(str(a) for a in cycle))


class Graph:
    """Addresses and the addresses each depends on."""

    def __init__(self, edges: Mapping[Address, Iterable[Address]]) -> None:
        self.edges: dict[Address, frozenset[Address]] = {a: frozenset(d) for a, d in edges.items()}
        self._order: list[Address] | None = None

    def order(self) -> list[Address]:
        """Dependencies first; ties broken by address so output is stable. Raises CycleError."""
        if self._order is None:
            self._order = self._sorted()
        return list(self._order)

    def _sorted(self) -> list[Address]:
        sorter: graphlib.TopologicalSorter[Address] = graphlib.TopologicalSorter()
        for node in sorted(self.edges):
            sorter.add(node, *sorted(d for d in self.edges[node] if d in self.edges))
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            raise CycleError(list(reversed(exc.args[1]))) from None
        out: list[Address] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            out += ready
            sorter.done(*ready)
        return out

    def dependents(self, address: Address) -> set[Address]:
        return {a for a, deps in self.edges.items() if address in deps}

    def to_dot(self) -> str:
        lines = ["digraph smstate {", "  rankdir = LR;"]
        for node in sorted(self.edges):
            lines.append(f"  {_dot_id(node)};")
        for node in sorted(self.edges):
            for dep in sorted(self.edges[node]):
                lines.append(f"  {_dot_id(node)} -> {_dot_id(dep)};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _dot_id(address: Address) -> str:
    """A DOT quoted ID: an instance key's quotes escaped."""
    return '"' + str(address).replace('"', '\\"') + '"'

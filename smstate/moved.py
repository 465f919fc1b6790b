"""`moved:` entries: state entries re-addressed, as Terraform's moved blocks, so a renamed
block or key (or a block given a for_each) keeps its objects instead of replacing them."""

from __future__ import annotations

from dataclasses import replace

from .addresses import Address
from .state import State


def apply_moves(state: State, moves: list[tuple[Address, Address]]) -> tuple[State, list[str]]:
    """The state with each `from` entry under its `to` address, and what moved (`old -> new`).

    A block without a key moves with all its instances (`models.a` -> `models.b` moves
    `models.a["k"]` to `models.b["k"]`). An entry whose target is already in state stays."""
    resources = dict(state.resources)
    done: list[str] = []
    for old, new in moves:
        pairs = [(old, new)]
        if not old.key and not new.key:
            for text in list(resources):
                parsed = Address.parse(text)
                if parsed.key and parsed.block == old:
                    pairs.append((parsed, Address(new.type, new.name, parsed.key, new.module)))
        for source, target in pairs:
            if str(source) in resources and str(target) not in resources:
                resources[str(target)] = resources.pop(str(source))
                done.append(f"{source} -> {target}")
    if not done:
        return state, []
    return replace(state, resources=resources), done

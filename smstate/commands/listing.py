"""Listing a kind for a report: a target that cannot list it (a missing service or permission)
leaves that kind out with a warning instead of failing the whole report."""

from __future__ import annotations

from ..errors import ProviderError
from ..provider import Provider
from ..resources import Kind
from .run import err


def listed_ids(provider: Provider, kind: Kind, left_out: str, name_prefix: str = "") -> list[tuple[str, str]]:
    """(id, ARN) of every object of the kind (whose name starts with `name_prefix`); none when it
    cannot be listed, with a warning naming what is `left_out`."""
    try:
        return provider.list_ids(kind, name_prefix)
    except ProviderError as exc:
        err.print(f"[yellow]Warning:[/yellow] cannot list {kind.type}, {left_out}: {exc}")
        return []

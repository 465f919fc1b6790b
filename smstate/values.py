"""Values that are not plain data: not yet known, or too secret to show."""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_AFTER_APPLY = "(known after apply)"
SENSITIVE = "(sensitive)"


@dataclass(frozen=True)
class Unknown:
    """A value known only after apply, such as the ARN of an object not yet created."""

    ref: str

    def __str__(self) -> str:
        return KNOWN_AFTER_APPLY


def has_unknown(value: object) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


class Secret(str):
    """A string that came from a sensitive variable: sent to the API, never shown or stored."""

    __slots__ = ()


def has_secret(value: object) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secret(v) for v in value)
    return False

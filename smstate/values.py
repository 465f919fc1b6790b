"""Values that are not plain data: not yet known, or too secret to show.

A value from a sensitive variable is marked, whatever its type: strings, numbers, lists and
maps each have a marked twin (a subclass, so the API and JSON take it as the plain value).
The mark is deep (every element of a sensitive map is marked too) and follows the value
through references and interpolation; state keeps only a keyed hash of it and output shows
`(sensitive)`. Python's `bool` cannot be subclassed, so a bool is hidden only inside a
marked list or map; a bool variable cannot be declared sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KNOWN_AFTER_APPLY = "(known after apply)"
SENSITIVE = "(sensitive)"


@dataclass(frozen=True)
class Unknown:
    """A value known only after apply, such as the ARN of an object not yet created.

    `ref` is the first reference not yet known; `source`, for a reference inside a longer
    string, is that string with every part already known filled in, so that apply completes
    it from the state alone; `sensitive` says a filled-in part came from a sensitive value."""

    ref: str
    source: str | None = None
    sensitive: bool = False

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


class SecretInt(int):
    """A whole number from a sensitive variable."""

    __slots__ = ()


class SecretFloat(float):
    """A number from a sensitive variable."""

    __slots__ = ()


class SecretList(list[Any]):
    """A list from a sensitive variable; its elements are marked too."""

    __slots__ = ()


class SecretDict(dict[str, Any]):
    """A map from a sensitive variable; its values are marked too."""

    __slots__ = ()


MARKED = (Secret, SecretInt, SecretFloat, SecretList, SecretDict)


def is_secret(value: object) -> bool:
    """The value itself came from a sensitive variable (a container holding one may not)."""
    return isinstance(value, MARKED)


def has_secret(value: object) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secret(v) for v in value)
    return False


def mark(value: Any) -> Any:
    """The value marked sensitive, with everything inside it (bools stay plain: see above)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, int):
        return SecretInt(value)
    if isinstance(value, float):
        return SecretFloat(value)
    if isinstance(value, dict):
        return SecretDict({k: mark(v) for k, v in value.items()})
    if isinstance(value, list):
        return SecretList(mark(v) for v in value)
    return value


def like(source: Any, value: Any) -> Any:
    """`value` (derived from `source`, such as its text) marked if `source` was."""
    return mark(value) if is_secret(source) else value

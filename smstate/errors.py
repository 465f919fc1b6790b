"""The exception tree. The CLI turns every `SmstateError` into one `Error:` line and exit 1."""

from __future__ import annotations

from dataclasses import dataclass


class SmstateError(Exception):
    """A user-facing failure: the message is printed as is, without a traceback."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in the config, located by file, line and key path."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(SmstateError):
    """The config is invalid. Carries every problem found, so users fix them all at once."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class StateError(SmstateError):
    """The statefile cannot be read or written safely; the file is left untouched."""


class StateWriteError(StateError):
    """A statefile could not be written (a full disk): the file on disk is the previous, consistent state."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}; the file on disk was left as it was")


class LockError(SmstateError):
    """The state is locked by another command."""


class PlanFileError(SmstateError):
    """A saved plan cannot be applied (corrupt, or the state has moved on)."""


class ProviderError(SmstateError):
    """The provider API refused an operation or the object ended in a failed state."""


class RetryableError(ProviderError):
    """A transient failure: running the same command again may succeed."""


class UnreachableError(RetryableError):
    """The API cannot be reached at all (retries exhausted): every other call would fail the same way."""


class OwnershipError(SmstateError):
    """An object exists that this state does not own; smstate never adopts or deletes it."""

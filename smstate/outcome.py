"""What an apply ends with: counts, errors, and the failures that stop every operation.

An unreachable API and a state that cannot be saved stop the run as a whole (no new
operation starts) and are reported once, with what is safe to do next; an interrupt always
ends in an error, so that a stopped apply is never reported as complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SmstateError, StateWriteError


class StoppedWaiting(SmstateError):
    """A second Ctrl-C: stop waiting; the object stays recorded and the next plan re-reads it."""


class Unrecorded(SmstateError):
    """An operation completed, but the state could not be saved (a full disk)."""

    def __init__(self, done: str, error: StateWriteError) -> None:
        self.done = done
        self.reason = error.reason
        super().__init__(f"{done}, but {error.reason}")


@dataclass
class Halt:
    """Failures after which no operation starts: the API is gone, or the state cannot be saved."""

    unreachable: list[tuple[str, str]] = field(default_factory=list)
    """(address, error) of the operations that found the API unreachable."""
    unrecorded: list[Unrecorded] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unreachable or self.unrecorded)

    def messages(self, serial_on_disk: int) -> list[str]:
        out = [unreachable_message(self.unreachable)] if self.unreachable else []
        if self.unrecorded:
            out.append(unrecorded_message(self.unrecorded, serial_on_disk))
        return out


@dataclass
class Outcome:
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    errors: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    """What completed but could not be saved in the state: the statefile on disk is behind."""
    abandoned: list[str] = field(default_factory=list)
    """Addresses of the operations a second interrupt stopped waiting for."""


def unrecorded_message(failures: list[Unrecorded], serial: int) -> str:
    """One message for a state that cannot be saved: what is done but unrecorded, and why that is safe."""
    done = "; ".join(f.done for f in failures)
    return (
        f"the state could not be saved ({failures[0].reason}): {done}, but the state does not record it. "
        f"The statefile on disk is the last consistent state (serial {serial}); objects created but not recorded "
        "carry this state's ownership tags and the next apply adopts them. No new operations were started: "
        "make room, then run apply again"
    )


def interrupted_message(not_started: int, abandoned: list[str]) -> str:
    if abandoned:
        return (
            f"interrupted: stopped waiting for {', '.join(abandoned)}; they are recorded as in progress and the "
            "next plan re-reads them; run apply again to finish"
        )
    if not_started:
        return f"interrupted: {not_started} operation(s) not started; what completed is in the state; run apply again to finish"
    return "interrupted: every operation had already started and finished, and is in the state; run plan to check"


def unreachable_message(failed: list[tuple[str, str]]) -> str:
    """One message for an API gone away, instead of the same failure once per operation."""
    addresses = ", ".join(sorted({address for address, _ in failed}))
    return (
        f"the API cannot be reached ({failed[0][1]}); stopped, no new operations started ({addresses} failed); "
        "what completed is in the state: run apply again once the API answers"
    )

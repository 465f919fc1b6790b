"""The options many commands share, and the conversion of their values into `Inputs`.

Only typer is imported here: the core is imported when a command runs, so `--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Chdir = Annotated[str, typer.Option("--chdir", "-C", help="The config directory.")]
Vars = Annotated[Optional[list[str]], typer.Option("--var", help="Set a variable: NAME=VALUE.")]
VarFiles = Annotated[Optional[list[str]], typer.Option("--var-file", help="A YAML or JSON file of variable values.")]
Parallelism = Annotated[int, typer.Option("--parallelism", min=1, max=256, help="Operations at once.")]
LockTimeout = Annotated[str, typer.Option("--lock-timeout", help="How long to wait for the state lock, e.g. 30s.")]
Targets = Annotated[Optional[list[str]], typer.Option("--target", help="Only this address and its dependencies.")]
Replaces = Annotated[Optional[list[str]], typer.Option("--replace", help="Force replacement of this address.")]


def inputs(chdir: str, var: list[str] | None = None, var_file: list[str] | None = None, parallelism: int = 10,
            lock_timeout: str = "0s") -> object:
    from ..pipeline import Inputs

    return Inputs(chdir, var or [], var_file or [], parallelism, duration(lock_timeout, "--lock-timeout"))


def duration(text: str, option: str) -> float:
    from ..durations import seconds

    return seconds(text, option)

"""`smstate state ...`: the CLI group that inspects and edits the state."""

from __future__ import annotations

from typing import Annotated

import typer

from .options import Chdir, LockTimeout, VarFiles, Vars, inputs

app = typer.Typer(no_args_is_help=True, help="Inspect and edit the state.")


@app.command("list")
def state_list(chdir: Chdir = ".") -> None:
    """List the addresses in the state."""
    from . import inspect

    raise typer.Exit(inspect.state_list(inputs(chdir)))  # type: ignore[arg-type]


@app.command("show")
def state_show(address: str, chdir: Chdir = ".") -> None:
    """Show one address as recorded."""
    from . import inspect

    raise typer.Exit(inspect.state_show(inputs(chdir), address))  # type: ignore[arg-type]


@app.command("rm")
def state_rm(addresses: list[str], chdir: Chdir = ".", lock_timeout: LockTimeout = "0s") -> None:
    """Forget addresses without touching the objects."""
    from . import inspect

    raise typer.Exit(inspect.state_rm(inputs(chdir, lock_timeout=lock_timeout), addresses))  # type: ignore[arg-type]


@app.command("pull")
def state_pull(chdir: Chdir = ".") -> None:
    """Print the state as JSON."""
    from . import migrate

    raise typer.Exit(migrate.pull(inputs(chdir)))  # type: ignore[arg-type]


@app.command("push")
def state_push(
    file: Annotated[str, typer.Argument(help="A statefile, or - for stdin.")],
    chdir: Chdir = ".",
    force: Annotated[bool, typer.Option("--force", help="Replace even a state of another lineage or a newer serial.")] = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Replace the state with a file (same lineage, not older, unless --force)."""
    from . import migrate

    raise typer.Exit(migrate.push(inputs(chdir, lock_timeout=lock_timeout), file, force))  # type: ignore[arg-type]


@app.command("rotate-key")
def state_rotate_key(
    chdir: Chdir = ".",
    var: Vars = None,
    var_file: VarFiles = None,
    lost: Annotated[bool, typer.Option("--lost", help="The old key is lost: hash anew (secret-bearing objects are replaced).")] = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """A new state key; the state's hashes of sensitive values are re-derived from the config's values."""
    from . import rotate

    raise typer.Exit(rotate.rotate_key(inputs(chdir, var, var_file, lock_timeout=lock_timeout), lost))  # type: ignore[arg-type]

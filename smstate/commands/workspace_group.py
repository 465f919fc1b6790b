"""`smstate workspace ...`: the CLI group that manages workspaces."""

from __future__ import annotations

import typer

from .options import Chdir, inputs

app = typer.Typer(no_args_is_help=True, help="Manage workspaces (one statefile each).")


@app.command("list")
def workspace_list(chdir: Chdir = ".") -> None:
    """List workspaces; * marks the selected one."""
    from . import inspect

    raise typer.Exit(inspect.workspace_cmd(inputs(chdir), "list", None))  # type: ignore[arg-type]


@app.command("show")
def workspace_show(chdir: Chdir = ".") -> None:
    """Print the selected workspace."""
    from . import inspect

    raise typer.Exit(inspect.workspace_cmd(inputs(chdir), "show", None))  # type: ignore[arg-type]


@app.command("new")
def workspace_new(name: str, chdir: Chdir = ".") -> None:
    """Create a workspace and select it."""
    from . import inspect

    raise typer.Exit(inspect.workspace_cmd(inputs(chdir), "new", name))  # type: ignore[arg-type]


@app.command("select")
def workspace_select(name: str, chdir: Chdir = ".") -> None:
    """Select a workspace."""
    from . import inspect

    raise typer.Exit(inspect.workspace_cmd(inputs(chdir), "select", name))  # type: ignore[arg-type]


@app.command("delete")
def workspace_delete(name: str, chdir: Chdir = ".") -> None:
    """Delete an empty workspace."""
    from . import inspect

    raise typer.Exit(inspect.workspace_cmd(inputs(chdir), "delete", name))  # type: ignore[arg-type]

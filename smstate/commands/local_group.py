"""`smstate local ...`: the CLI group that runs the embedded local SageMaker server."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .options import Chdir, inputs

app = typer.Typer(no_args_is_help=True, help="Manage the embedded local SageMaker server.")


@app.command("start")
def local_start(
    chdir: Chdir = ".",
    url: Annotated[Optional[str], typer.Option("--url")] = None,
    local_s3: Annotated[bool, typer.Option("--local-s3", help="start a local S3 (moto) unless one is configured")] = False,
) -> None:
    """Start the local SageMaker server in the background."""
    from . import local

    extra = ["--s3-endpoint-url", "local"] if local_s3 else []
    raise typer.Exit(local.server(inputs(chdir), "start", url, extra))  # type: ignore[arg-type]


@app.command("stop")
def local_stop(chdir: Chdir = ".", url: Annotated[Optional[str], typer.Option("--url")] = None) -> None:
    """Stop the background server and every model server it runs."""
    from . import local

    raise typer.Exit(local.server(inputs(chdir), "stop", url, []))  # type: ignore[arg-type]


@app.command("status")
def local_status(
    chdir: Chdir = ".",
    url: Annotated[Optional[str], typer.Option("--url")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON (pid, home, s3, ...)")] = False,
) -> None:
    """Tell whether the server answers, where it keeps its registry, and which S3 it uses."""
    from . import local

    raise typer.Exit(local.server(inputs(chdir), "status", url, ["--json"] if as_json else []))  # type: ignore[arg-type]


@app.command("logs")
def local_logs(
    chdir: Chdir = ".",
    url: Annotated[Optional[str], typer.Option("--url")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
) -> None:
    """Print the server's log."""
    from . import local

    extra = ["-n", str(lines)] + (["-f"] if follow else [])
    raise typer.Exit(local.server(inputs(chdir), "logs", url, extra))  # type: ignore[arg-type]

"""The `smstate` command line. Commands are thin: parse, call the core, render, exit code.

Exit codes: 0 success, 1 error, 2 changes present (`plan --detailed-exitcode`) or drift.
Every user error is one `Error:` line; `--debug` (or SMSTATE_DEBUG=1) shows the traceback.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from typing import Annotated, Optional

import typer

from . import interrupts
from .changes import Mode
from .commands import local_group, state_group, workspace_group
from .commands.options import Chdir, LockTimeout, Parallelism, Replaces, Targets, VarFiles, Vars
from .commands.options import duration as _duration
from .commands.options import inputs as _inputs
from .errors import ConfigError, SmstateError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Declarative, Terraform-style reconciler for Amazon SageMaker inference resources.",
)
rollout_app = typer.Typer(no_args_is_help=True, help="Follow endpoint rollouts.")
app.add_typer(state_group.app, name="state")
app.add_typer(workspace_group.app, name="workspace")
app.add_typer(local_group.app, name="local")
app.add_typer(rollout_app, name="rollout")

@app.command()
def validate(chdir: Chdir = ".", var: Vars = None, var_file: VarFiles = None) -> None:
    """Check the config: every problem, with file, line and key path."""
    from .commands import inspect

    raise typer.Exit(inspect.validate(_inputs(chdir, var, var_file)))  # type: ignore[arg-type]


@app.command()
def plan(
    chdir: Chdir = ".",
    var: Vars = None,
    var_file: VarFiles = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Save the plan for `apply FILE`.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object.")] = False,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")] = False,
    target: Targets = None,
    replace: Replaces = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan to destroy everything.")] = False,
    refresh_only: Annotated[bool, typer.Option("--refresh-only", help="Only record live values in state.")] = False,
    parallelism: Parallelism = 10,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Show what apply would change."""
    from .commands import run

    options = run.RunOptions(_mode(destroy, refresh_only), target or [], replace or [])
    inputs = _inputs(chdir, var, var_file, parallelism, lock_timeout)
    raise typer.Exit(run.plan(inputs, options, json_, out, detailed_exitcode))  # type: ignore[arg-type]


@app.command()
def apply(
    planfile: Annotated[Optional[str], typer.Argument(help="A plan saved with `plan --out`.")] = None,
    chdir: Chdir = ".",
    var: Vars = None,
    var_file: VarFiles = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask for approval.")] = False,
    target: Targets = None,
    replace: Replaces = None,
    refresh_only: Annotated[bool, typer.Option("--refresh-only", help="Only record live values in state.")] = False,
    parallelism: Parallelism = 10,
    lock_timeout: LockTimeout = "0s",
    timeout: Annotated[Optional[str], typer.Option("--timeout", help="Longest wait for one endpoint, e.g. 45m.")] = None,
) -> None:
    """Make the live objects match the config."""
    from .commands import run

    options = run.RunOptions(_mode(False, refresh_only), target or [], replace or [])
    inputs = _inputs(chdir, var, var_file, parallelism, lock_timeout)
    wait = _duration(timeout, "--timeout") if timeout is not None else None
    raise typer.Exit(run.apply(inputs, options, planfile, auto_approve, wait))  # type: ignore[arg-type]


@app.command()
def destroy(
    chdir: Chdir = ".",
    var: Vars = None,
    var_file: VarFiles = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask for approval.")] = False,
    target: Targets = None,
    parallelism: Parallelism = 10,
    lock_timeout: LockTimeout = "0s",
    timeout: Annotated[Optional[str], typer.Option("--timeout", help="Longest wait for one endpoint.")] = None,
) -> None:
    """Destroy every object in the state."""
    from .changes import Mode
    from .commands import run

    options = run.RunOptions(Mode.DESTROY, target or [], [])
    inputs = _inputs(chdir, var, var_file, parallelism, lock_timeout)
    wait = _duration(timeout, "--timeout") if timeout is not None else None
    raise typer.Exit(run.apply(inputs, options, None, auto_approve, wait))  # type: ignore[arg-type]


def _mode(destroy: bool, refresh_only: bool) -> Mode:

    if destroy and refresh_only:
        raise SmstateError("--destroy and --refresh-only cannot be used together")
    return Mode.DESTROY if destroy else Mode.REFRESH_ONLY if refresh_only else Mode.NORMAL


@app.command()
def drift(
    chdir: Chdir = ".",
    format_: Annotated[str, typer.Option("--format", help="text, json, markdown or github.")] = "text",
    target: Targets = None,
    var: Vars = None,
    var_file: VarFiles = None,
    parallelism: Parallelism = 10,
) -> None:
    """Report objects changed outside smstate: exit 0 none, 2 drift, 1 error."""
    from .commands import drift as drift_cmd

    inputs = _inputs(chdir, var, var_file, parallelism)
    raise typer.Exit(drift_cmd.drift(inputs, format_, target or []))  # type: ignore[arg-type]


@app.command("import")
def import_(
    address: Annotated[Optional[str], typer.Argument(help="TYPE.NAME")] = None,
    physical_name: Annotated[Optional[str], typer.Argument(help="The object's name (ARN for model packages).")] = None,
    chdir: Chdir = ".",
    adopt: Annotated[bool, typer.Option("--adopt", help="Also tag it smstate:address and smstate:lineage.")] = False,
    generate_config: Annotated[Optional[str], typer.Option("--generate-config", help="Write YAML for every object found.")] = None,
    name_prefix: Annotated[str, typer.Option("--name-prefix", help="Only objects whose name starts with this.")] = "",
    type_: Annotated[Optional[list[str]], typer.Option("--type", help="Only this resource type (repeatable).")] = None,
    var: Vars = None,
    var_file: VarFiles = None,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Record existing objects in the state, or generate config for them."""
    from .commands import importer

    inputs = _inputs(chdir, var, var_file, 10, lock_timeout)
    if generate_config:
        if address or physical_name:
            raise SmstateError("--generate-config takes no ADDRESS or NAME")
        raise typer.Exit(importer.generate_config(inputs, generate_config, name_prefix, type_ or []))  # type: ignore[arg-type]
    if not address or not physical_name:
        raise SmstateError("usage: smstate import ADDRESS NAME, or smstate import --generate-config FILE")
    raise typer.Exit(importer.import_one(inputs, address, physical_name, adopt))  # type: ignore[arg-type]


@rollout_app.command("status")
def rollout_status(
    endpoint: Annotated[str, typer.Argument(help="An endpoint name, or its address endpoints.NAME.")],
    chdir: Chdir = ".",
    json_: Annotated[bool, typer.Option("--json")] = False,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Show an endpoint's deployment stage, traffic split and last failure."""
    from .commands import rollout

    raise typer.Exit(rollout.status(_inputs(chdir, var, var_file), endpoint, json_))  # type: ignore[arg-type]


@app.command()
def output(
    name: Annotated[Optional[str], typer.Argument()] = None,
    chdir: Chdir = ".",
    json_: Annotated[bool, typer.Option("--json")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print a string output without quotes.")] = False,
) -> None:
    """Show the outputs recorded by the last apply."""
    from .commands import inspect

    raise typer.Exit(inspect.output(_inputs(chdir), name, json_, raw))  # type: ignore[arg-type]


@app.command()
def graph(chdir: Chdir = ".", var: Vars = None, var_file: VarFiles = None) -> None:
    """Print the dependency graph in DOT."""
    from .commands import inspect

    raise typer.Exit(inspect.graph(_inputs(chdir, var, var_file)))  # type: ignore[arg-type]


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config, for YAML editors."""
    from .commands import inspect

    raise typer.Exit(inspect.schema())


@app.command("force-unlock")
def force_unlock(lock_id: Annotated[str, typer.Argument(metavar="ID")], chdir: Chdir = ".") -> None:
    """Remove a stale state lock."""
    from .commands import inspect

    raise typer.Exit(inspect.force_unlock(_inputs(chdir), lock_id))  # type: ignore[arg-type]


@app.command()
def version() -> None:
    """Print the version."""
    from . import __version__

    typer.echo(f"smstate {__version__}")


@app.command()
def init(
    chdir: Chdir = ".",
    migrate_state: Annotated[bool, typer.Option("--migrate-state", "-migrate-state", help="Copy the state from the previous backend.")] = False,
    reconfigure: Annotated[bool, typer.Option("--reconfigure", "-reconfigure", help="Forget the previous backend; copy nothing.")] = False,
) -> None:
    """Record the config's backend; after a backend change, migrate the state to it."""
    from .commands import migrate

    raise typer.Exit(migrate.init(_inputs(chdir), migrate_state, reconfigure))  # type: ignore[arg-type]


@app.command()
def invoke(
    endpoint: str,
    chdir: Chdir = ".",
    body: Annotated[str, typer.Option("--body", help="The request: TEXT, @FILE or - for stdin.")] = "-",
    content_type: Annotated[str, typer.Option("--content-type")] = "application/json",
    accept: Annotated[Optional[str], typer.Option("--accept")] = None,
    target_variant: Annotated[Optional[str], typer.Option("--target-variant")] = None,
    inference_component: Annotated[
        Optional[str], typer.Option("--inference-component", help="The inference component to call on the endpoint.")
    ] = None,
    target_model: Annotated[Optional[str], typer.Option("--target-model", help="A multi-model endpoint's model.")] = None,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Call an endpoint (InvokeEndpoint) and print the response body."""
    from .commands import local

    inputs = _inputs(chdir, var, var_file)
    code = local.invoke(inputs, endpoint, body, content_type, accept, target_variant, inference_component, target_model)  # type: ignore[arg-type]
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every user error into one `Error:` line and exit 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("SMSTATE_DEBUG") == "1" or "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        _load_model(args)
        with interrupts.installed():
            code = int(app(args=args, prog_name="smstate", standalone_mode=False) or 0)
        if code == 130:
            sys.stderr.write("Error: interrupted\n")
            return 1
        return code
    except ConfigError as exc:
        if debug:
            raise
        for diagnostic in exc.diagnostics:
            sys.stderr.write(f"Error: {diagnostic}\n")
        return 1
    except SmstateError as exc:
        if debug:
            raise
        lines = str(exc).splitlines() or ["unknown error"]
        sys.stderr.write(f"Error: {lines[0]}\n" + "".join(f"  {line}\n" for line in lines[1:]))
        return 1
    except interrupts.Interrupted as exc:
        if debug:
            raise
        sys.stderr.write(f"Error: {exc}: stopped, and no state lock is left behind\n")
        return 1
    except BrokenPipeError:
        return _reader_gone()
    except SystemExit as exc:  # click ends on a closed pipe with exit 1 and no word
        if isinstance(exc.__context__, BrokenPipeError):
            return _reader_gone()
        raise
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        return 1
    except OSError as exc:
        if debug:
            raise
        sys.stderr.write(f"Error: {os_error_line(exc)}\n")
        return 1
    except Exception as exc:
        return _click_exit(exc)


def _reader_gone() -> int:
    """The reader of our output left (`smstate ... | head`): stop quietly, as a command killed by
    SIGPIPE does, with its exit status; what is still buffered goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _load_model(args: list[str]) -> None:
    """Parse botocore's SageMaker model before a command that reads a config, and freeze it.

    The model is some 100,000 objects that live as long as the process. Frozen, they are left
    out of every later garbage collection, which otherwise walks them all again and again while
    a large config is parsed and planned (half the CPU time of a plan)."""
    if not args or args[0] in _WITHOUT_MODEL or "--help" in args:
        return
    from . import shapes

    shapes.service_model()
    gc.freeze()


_WITHOUT_MODEL = frozenset({"version", "force-unlock", "--help"})


def os_error_line(exc: OSError) -> str:
    """A filesystem failure no command turned into its own message: what failed, on which path."""
    reason = exc.strerror or str(exc)
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    return f"{reason}: {' -> '.join(str(p) for p in paths)}" if paths else reason


def _click_exit(exc: Exception) -> int:
    """typer vendors click, so its exceptions are recognised by shape, not by class."""
    name = type(exc).__name__
    if name == "Exit":
        return int(getattr(exc, "exit_code", 0) or 0)
    if name == "NoArgsIsHelpError":
        sys.stdout.write(str(getattr(exc, "ctx", None) and exc.ctx.get_help()) + "\n")  # type: ignore[attr-defined]
        return 0
    if name == "Abort":
        sys.stderr.write("Error: interrupted\n")
        return 1
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        sys.stderr.write(f"Error: {exc.format_message()}\n")  # type: ignore[attr-defined]
        return 1
    raise exc


def entry() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        # Threads an interrupt left behind may sit in a socket read until its timeout (minutes),
        # and the interpreter would wait for them: the command is over, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

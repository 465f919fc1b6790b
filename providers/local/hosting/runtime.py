"""Container runtimes: how one container of a model becomes a running model server.

A runtime turns a :class:`ContainerSpec` and its extracted model directory into a
:class:`Container`: something with a keep-alive client to its ``/ping`` and
``/invocations``, a way to tell whether (and why) it died, and a way to stop it.
The ``process`` runtime lives here; the ``docker`` runtime is in ``docker_runtime``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pwd
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from providers.local.hosting.client import ContainerClient
from providers.local.hosting import warm
from providers.local.hosting.errors import HostingError
from providers.local.hosting.private_socket import PrivateSocket
from providers.local.hosting.warm import ForkedProcess

MODEL_SERVER = Path(__file__).with_name("model_server.py")
STOP_GRACE_SECONDS = 5.0

#: What a model server inherits from the local server's environment: what it needs to
#: run (the search path, the locale, the time zone), and nothing else.
INHERITED = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR")

#: Pids of the model servers started (each leads its own session and process group),
#: newest last; kept for a while after they exit, to recognise their signals.
_MODEL_PIDS: collections.OrderedDict[int, None] = collections.OrderedDict()
_MODEL_PIDS_KEPT = 4096


def container_environment(environment: dict[str, str]) -> dict[str, str]:
    """The environment of a model server: what a SageMaker container gets.

    The model's own ``Environment`` (which carries the ``SAGEMAKER_*`` variables of
    the hosting), the user's ``HOME``, the search path and locale, and the Python
    settings the process runtime needs; no variable of the local server's own (no
    ``SMSTATE_VAR_*``, no AWS credentials) reaches a model.
    """
    env = {k: v for k, v in os.environ.items() if k in INHERITED or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    try:
        env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        env["HOME"] = "/"
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(environment)
    return env


def remember_model_pid(pid: int) -> None:
    _MODEL_PIDS[pid] = None
    while len(_MODEL_PIDS) > _MODEL_PIDS_KEPT:
        _MODEL_PIDS.popitem(last=False)


def is_model_process(pid: int) -> bool:
    """Whether ``pid`` is a model server or runs in one's session or process group.

    A process that already exited is recognised only if it was a model server
    itself (its descendants may be gone before they can be looked up).
    """
    if pid in _MODEL_PIDS:
        return True
    try:
        groups = {os.getsid(pid), os.getpgid(pid)}
    except OSError:
        return False
    return any(group in _MODEL_PIDS for group in groups)


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a model, as the runtimes need it (from DescribeModel's shape)."""

    index: int
    image: str
    model_data: str | None
    environment: dict[str, str] = field(default_factory=dict)
    hostname: str | None = None

    @property
    def label(self) -> str:
        """How messages name the container: its position and its image or hostname."""
        return f"container {self.index} ({self.hostname or self.image or 'no image'})"


class Container(Protocol):
    """A started model-server container."""

    spec: ContainerSpec
    client: ContainerClient

    @property
    def alive(self) -> bool: ...

    async def exit_reason(self) -> str | None:
        """``None`` while it runs; once it has exited, one line saying how and why."""

    async def stop(self) -> None:
        """Terminate, then kill after a grace period; safe to call twice."""


def last_line(text: str, limit: int = 900) -> str:
    """The last non-empty line of a log: the model server's one-line failure reason."""
    for line in reversed(text.splitlines()):
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return "no output"


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def loopback_listener() -> socket.socket:
    """A listening socket on a free loopback port, for a model server on TCP.

    The process runtime serves on a private Unix socket instead (``private_socket``):
    any local user can connect to a loopback port.

    Binding here and passing the descriptor means no other process can take the port
    between choosing and binding it. The protocol is given explicitly because asyncio
    sets TCP_NODELAY only on sockets whose ``proto`` is TCP, and accepted sockets
    inherit it from the listener.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


class ProcessContainer:
    """A model server run as a child process of the local server, or forked from its warm parent.

    It runs ``model_server.py`` with ``python`` (the model's libraries come from that
    interpreter): forked from the warm parent of that Python, which has imported the
    serving stack already (``warm``), or started by path when it cannot be. It serves on a Unix socket in ``<workdir>/sockets`` that only
    the local server's user can connect to (see ``private_socket``), in a session and
    process group of its own (signals meant for the local server never reach it), with
    the environment of :func:`container_environment`, its data segment bounded by
    ``memory`` (the instance type's memory), and stdout/stderr appended to
    ``<workdir>/container-<index>.log``. It writes no bytecode, so neither the shared
    artifact cache nor a user's model directory changes by being served. The child
    exits by itself if the local server dies, so no model server outlives it.
    """

    def __init__(
        self, spec: ContainerSpec, process: asyncio.subprocess.Process | ForkedProcess, address: PrivateSocket, log: Path
    ) -> None:
        self.spec = spec
        self.process = process
        self.log = log
        self.address = address
        self.client = ContainerClient.over(address)

    @classmethod
    async def start(
        cls, spec: ContainerSpec, model_dir: Path, workdir: Path, python: str | None, memory: int | None = None
    ) -> ProcessContainer:
        log = workdir / f"container-{spec.index}.log"
        try:
            address = PrivateSocket(workdir / "sockets", f"container-{spec.index}.sock")
            listener = address.listen()
        except OSError as exc:
            raise HostingError(f"{spec.label} could not listen on a socket in {workdir}: {exc}") from None
        limit = ["--memory-limit", str(memory)] if memory else []
        env = container_environment(spec.environment)
        try:
            with log.open("ab") as out:
                forked = await _forked(python, env, ["--model-dir", str(model_dir), *limit], workdir, listener, out)
                process: asyncio.subprocess.Process | ForkedProcess
                if forked is not None:
                    process = forked
                else:
                    process = await asyncio.create_subprocess_exec(
                        python or sys.executable, str(MODEL_SERVER), "--model-dir", str(model_dir),
                        "--fd", str(listener.fileno()), "--parent-pid", str(os.getpid()), *limit,
                        stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                        pass_fds=(listener.fileno(),), env=env, cwd=workdir,
                        start_new_session=True,
                    )
            remember_model_pid(process.pid)
        except OSError as exc:
            address.close()
            raise HostingError(f"{spec.label} could not start {python or sys.executable}: {exc}") from None
        finally:
            listener.close()
        return cls(spec, process, address, log)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def exit_reason(self) -> str | None:
        code = self.process.returncode
        if code is None:
            return None
        tail = await asyncio.to_thread(_read_tail, self.log)
        return f"{describe_exit(code)}: {last_line(tail)}"

    async def stop(self) -> None:
        await self.client.close()
        if self.process.returncode is None:
            try:
                _signal_group(self.process.pid, signal.SIGTERM)
                await asyncio.wait_for(self.process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                pass
        _signal_group(self.process.pid, signal.SIGKILL)  # whatever the model started, too
        await self.process.wait()
        self.address.close()


async def _forked(
    python: str | None, env: dict[str, str], argv: list[str], workdir: Path, listener: socket.socket, out: BinaryIO
) -> ForkedProcess | None:
    """A model server forked from the warm parent of ``python``; None when it must start fresh."""
    base = container_environment({})
    if not warm.forkable(env, base):
        return None
    parent = await warm.parent_for(python, base)
    if parent is None:
        return None
    try:
        return await parent.spawn(argv, env, workdir, listener.fileno(), out.fileno())
    except OSError:
        return None


def _signal_group(pid: int, signum: int) -> None:
    """Signal the model server's process group (its pid: it leads the group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _read_tail(path: Path, size: int = 16384) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""

"""Model servers forked from a warm parent (``fork_server.py``), one parent per Python.

A model server started with ``python model_server.py`` spends most of its start-up
importing numpy, uvicorn and the model's libraries. The warm parent has imported them
once; each new instance is a fork of it, ready in milliseconds. Everything else is as
for a started process: the model's environment and nothing of the server's, a private
Unix socket, the memory limit, a session of its own, exit codes for supervision.

A model whose environment sets Python's own start-up variables (``PYTHONPATH``,
``PYTHONHASHSEED``...) is started fresh instead: a fork keeps the parent's.
If the warm parent cannot be started or dies, model servers are started fresh too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

FORK_SERVER = Path(__file__).with_name("fork_server.py")
START_TIMEOUT = 120.0
"""How long the parent may take to import the serving stack."""
log = logging.getLogger("smstate.local")


class ForkedProcess:
    """A model server forked by the warm parent: its pid, and its exit code once reported."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._done = asyncio.Event()

    def exited(self, code: int) -> None:
        self.returncode = code
        self._done.set()

    async def wait(self) -> int:
        await self._done.wait()
        assert self.returncode is not None
        return self.returncode


class WarmParent:
    """One running ``fork_server.py`` and the control socket to it."""

    def __init__(self, process: asyncio.subprocess.Process, control: socket.socket) -> None:
        self.process = process
        self.control = control
        self.children: dict[int, ForkedProcess] = {}
        self._replies: asyncio.Queue[int | None] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        self._reader = self.loop.create_task(self._read())

    @classmethod
    async def start(cls, python: str, env: dict[str, str]) -> WarmParent:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = await asyncio.create_subprocess_exec(
                python, str(FORK_SERVER), "--control", str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, env=env, start_new_session=True,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        try:
            ready = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(ours, 4096), START_TIMEOUT)
        except (TimeoutError, OSError):
            ready = b""
        if json.loads(ready or b"{}").get("ready") is not True:
            ours.close()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise OSError(f"the warm parent under {python} did not start")
        return cls(process, ours)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self._reader.done()

    async def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, listener: int, log_fd: int) -> ForkedProcess:
        """Fork a model server running ``model_server.main(argv)``; raises OSError if the parent is gone."""
        request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
        async with self._lock:
            if not self.alive:
                raise OSError("the warm parent has exited")
            socket.send_fds(self.control, [request], [listener, log_fd])
            pid = await self._replies.get()
        if pid is None:
            raise OSError("the warm parent exited while forking")
        return self.children[pid]

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while message := await loop.sock_recv(self.control, 4096):
                reply: dict[str, Any] = json.loads(message)
                if "pid" in reply:
                    self.children[reply["pid"]] = ForkedProcess(reply["pid"])
                    self._replies.put_nowait(reply["pid"])
                elif "exit" in reply and reply["exit"] in self.children:
                    self.children.pop(reply["exit"]).exited(reply["code"])
        except (OSError, ValueError) as exc:
            log.warning("lost the warm parent of model servers: %s", exc)
        finally:
            self._replies.put_nowait(None)
            for child in self.children.values():  # they exit by themselves once their parent is gone
                child.exited(-9)
            self.children.clear()

    async def stop(self) -> None:
        self.control.close()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()


_PARENTS: dict[str, WarmParent] = {}
_STARTING: dict[tuple[str, asyncio.AbstractEventLoop], asyncio.Lock] = {}


def forkable(environment: dict[str, str], base: dict[str, str]) -> bool:
    """A fork gives the model its environment, unless it sets Python's own start-up variables differently."""
    return all(not key.startswith("PYTHON") or base.get(key) == value for key, value in environment.items())


async def parent_for(python: str | None, env: dict[str, str]) -> WarmParent | None:
    """The running warm parent of ``python``, started if need be; None if it cannot run."""
    key = python or sys.executable
    loop = asyncio.get_running_loop()
    async with _STARTING.setdefault((key, loop), asyncio.Lock()):
        found = _PARENTS.get(key)
        if found is not None and found.loop is loop and found.alive:
            return found
        if found is not None and found.loop is not loop:
            found.control.close()  # a parent of an event loop that has ended exits on its own
        try:
            _PARENTS[key] = await WarmParent.start(key, env)
        except OSError as exc:
            log.warning("model servers under %s start cold: %s", key, exc)
            _PARENTS.pop(key, None)
            return None
        return _PARENTS[key]


async def stop_all() -> None:
    """Stop every warm parent (the local server is shutting down)."""
    parents = list(_PARENTS.values())
    _PARENTS.clear()
    for parent in parents:
        if parent.loop is asyncio.get_running_loop():
            await parent.stop()
        else:
            parent.control.close()

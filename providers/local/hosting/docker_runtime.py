"""The ``docker`` runtime: each container is ``docker run IMAGE serve``.

This is what SageMaker (and its SDK's local mode) does: the extracted model is
mounted read-only at ``/opt/ml/model``, the container's ``Environment`` is its
whole environment (nothing of the local server's), its memory is the instance
type's (``mem_limit``, no swap: past it the kernel kills it), and the image's
``serve`` answers ``/ping`` and ``/invocations`` on port 8080, which is published on
a free port of ``127.0.0.1`` only. Containers carry the label ``smstate.local=hosting``
so leftovers of a crashed server can be found.

Unlike the process runtime's private Unix sockets, a published port is open to every
local user: Docker's proxy (or its NAT rule) accepts the connection, so the peer the
container sees is Docker's, not the caller's, and the image's own server, not smstate,
answers. Anyone allowed to use Docker can reach the container anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from providers.local.hosting.client import ContainerClient
from providers.local.hosting.errors import HostingError
from providers.local.hosting.runtime import STOP_GRACE_SECONDS, ContainerSpec, describe_exit, last_line

LABEL = "smstate.local"
CONTAINER_PORT = "8080/tcp"


def _docker() -> Any:
    try:
        import docker
    except ImportError:
        raise HostingError("the docker runtime needs the docker package: pip install 'smstate[docker]'") from None
    return docker


class DockerContainer:
    """A running ``docker run IMAGE serve`` container.

    A thread blocks on the engine's wait call, so ``alive`` is known without polling
    and the exit code is kept for the failure reason.
    """

    def __init__(self, spec: ContainerSpec, container: Any, port: int, log: Path) -> None:
        self.spec = spec
        self.container = container
        self.log = log
        self.client = ContainerClient("127.0.0.1", port)
        self._exit_code: int | None = None
        self._stopped = False
        threading.Thread(target=self._wait, daemon=True, name=f"docker-wait-{container.short_id}").start()

    @classmethod
    async def start(
        cls, spec: ContainerSpec, model_dir: Path, workdir: Path, memory: int | None = None
    ) -> DockerContainer:
        return await asyncio.to_thread(cls._start, spec, model_dir, workdir, memory)

    @classmethod
    def _start(cls, spec: ContainerSpec, model_dir: Path, workdir: Path, memory: int | None) -> DockerContainer:
        docker = _docker()
        try:
            engine = docker.from_env()
            engine.ping()
        except docker.errors.DockerException as exc:
            raise HostingError(f"the docker runtime cannot reach a Docker engine: {exc}") from None
        limits = {"mem_limit": memory, "memswap_limit": memory} if memory else {}
        try:
            container = engine.containers.run(
                spec.image, "serve", detach=True, environment=spec.environment, **limits,
                ports={CONTAINER_PORT: ("127.0.0.1", None)},
                volumes={str(model_dir.resolve()): {"bind": "/opt/ml/model", "mode": "ro"}},
                labels={LABEL: "hosting"}, hostname=spec.hostname,
            )
            container.reload()
        except docker.errors.DockerException as exc:
            message = getattr(exc, "explanation", None) or exc
            raise HostingError(f"{spec.label}: docker could not run {spec.image}: {message}") from None
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT) or []
        port = int(bindings[0]["HostPort"]) if bindings else 0
        return cls(spec, container, port, workdir / f"container-{spec.index}.log")

    def _wait(self) -> None:
        try:
            result = self.container.client.api.wait(self.container.id, timeout=None)
            self._exit_code = int(result.get("StatusCode", -1))
        except Exception:
            self._exit_code = -1

    @property
    def alive(self) -> bool:
        return self._exit_code is None and not self._stopped

    async def exit_reason(self) -> str | None:
        if self._exit_code is None:
            return None
        logs = await asyncio.to_thread(self._save_logs)
        return f"{describe_exit(self._exit_code)}: {last_line(logs)}"

    def _save_logs(self) -> str:
        """Copy the container's output to the instance's log file and return it."""
        with contextlib.suppress(Exception):
            text: str = self.container.logs().decode("utf-8", "replace")
            self.log.write_text(text)
            return text
        return ""

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.client.close()
        await asyncio.to_thread(self._remove)

    def _remove(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop(timeout=int(STOP_GRACE_SECONDS))
        self._save_logs()
        with contextlib.suppress(Exception):
            self.container.remove(force=True)

"""Model instances: all containers of a model, started together and invoked in order.

An instance is what one ``InitialInstanceCount`` unit of a production variant runs.
A model with ``Containers`` is an inference pipeline, as in SageMaker: the request
goes to the first container, each container's response (body and Content-Type) is the
next one's request, the caller's Accept goes to the last one only, and the first
non-2xx response is returned as it is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from providers.local.hosting.artifacts import default_cache_dir, prepare_model_dir
from providers.local.hosting.errors import HostingError
from providers.local.hosting.multi_model import MultiModelInstance, is_multi_model, max_loaded
from providers.local.hosting.runtime import Container, ContainerSpec, ProcessContainer

RUNTIMES = ("process", "docker")
ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
INVOCATION_TIMEOUT_SECONDS = 60.0
PING_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class InvokeResult:
    """The response of the (last) container, status included, for the gateway to relay."""

    status: int
    content_type: str
    body: bytes
    custom_attributes: str | None = None


class ModelInstance:
    """The running containers of one instance of a model."""

    def __init__(self, containers: Sequence[Container]) -> None:
        self.containers = list(containers)
        self._stopped = False

    @property
    def alive(self) -> bool:
        return not self._stopped and all(c.alive for c in self.containers)

    async def wait_ready(self, timeout: float) -> None:
        """Return once every container answers ``/ping`` with 200.

        Raises :class:`HostingError` with a one-line reason if a container exits first
        (the tail of its log says why) or ``timeout`` seconds pass.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for container in self.containers:
            while True:
                reason = await container.exit_reason()
                if reason is not None:
                    raise HostingError(f"{container.spec.label} {reason}")
                if await _ping(container, min(PING_TIMEOUT_SECONDS, max(deadline - loop.time(), 0.01))):
                    break
                if loop.time() >= deadline:
                    raise HostingError(f"{container.spec.label} did not answer /ping with 200 within {timeout:g}s")
                await asyncio.sleep(0.05)

    async def exit_reason(self) -> str | None:
        """None while every container runs; else how the first one that exited ended."""
        for container in self.containers:
            reason = await container.exit_reason()
            if reason is not None:
                return f"{container.spec.label} {reason}"
        return None

    async def ping(self) -> bool:
        """Whether every container is running and answers ``/ping`` with 200."""
        if not self.alive:
            return False
        results = await asyncio.gather(*(_ping(c, PING_TIMEOUT_SECONDS) for c in self.containers))
        return all(results)

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        target_model: str | None = None,
    ) -> InvokeResult:
        """Send a request through the containers; raises HostingError if one is unreachable.

        A single-model instance has no target models (the gateway refuses one)."""
        result = InvokeResult(200, content_type, body)
        last = len(self.containers) - 1
        for index, container in enumerate(self.containers):
            headers = {"Content-Type": result.content_type} if result.content_type else {}
            if index == last and accept:
                headers["Accept"] = accept
            if custom_attributes:
                headers[ATTRIBUTES_HEADER] = custom_attributes
            try:
                response = await container.client.request(
                    "POST", "/invocations", result.body, headers, INVOCATION_TIMEOUT_SECONDS
                )
            except TimeoutError:
                raise HostingError(
                    f"{container.spec.label} did not respond within {INVOCATION_TIMEOUT_SECONDS:g}s"
                ) from None
            except (OSError, EOFError) as exc:
                raise HostingError(f"{container.spec.label} is unreachable: {exc or type(exc).__name__}") from None
            result = InvokeResult(
                response.status,
                response.headers.get("content-type", "application/octet-stream"),
                response.body,
                response.headers.get(ATTRIBUTES_HEADER.lower()),
            )
            if not 200 <= response.status < 300:
                break
        return result

    async def stop(self) -> None:
        """Stop every container (terminate, then kill); calling it again does nothing."""
        if self._stopped:
            return
        self._stopped = True
        await asyncio.gather(*(c.stop() for c in self.containers), return_exceptions=True)


async def _ping(container: Container, timeout: float) -> bool:
    try:
        response = await container.client.request("GET", "/ping", timeout=timeout)
    except (OSError, EOFError, TimeoutError):
        return False
    return response.status == 200


def container_specs(model: dict[str, Any]) -> list[ContainerSpec]:
    """The containers of a DescribeModel-shaped ``model``, refusing what cannot be hosted."""
    raw = model.get("Containers") or ([model["PrimaryContainer"]] if model.get("PrimaryContainer") else [])
    if not raw:
        raise HostingError(f"model {model.get('ModelName', '')!r} has neither PrimaryContainer nor Containers")
    if (model.get("InferenceExecutionConfig") or {}).get("Mode") == "Direct":
        raise HostingError("InferenceExecutionConfig Mode Direct is not supported locally; use Serial")
    specs = []
    for index, container in enumerate(raw, start=1):
        spec = ContainerSpec(
            index=index,
            image=container.get("Image", ""),
            model_data=container.get("ModelDataUrl")
            or ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri"),
            environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
            hostname=container.get("ContainerHostname"),
        )
        if container.get("Mode", "SingleModel") != "SingleModel":
            mode = container["Mode"]
            raise HostingError(f"{spec.label}: Mode {mode} is not supported locally in an inference pipeline")
        specs.append(spec)
    return specs


async def start_instance(
    model: dict[str, Any], workdir: Path, runtime: str = "process", python: str | None = None,
    *, cache_dir: Path | None = None, memory: int | None = None,
) -> ModelInstance | MultiModelInstance:
    """Prepare the artifacts and start every container of ``model``; no waiting for /ping.

    ``workdir`` is the instance's scratch directory (logs go there); extracted
    artifacts are shared through ``cache_dir`` (default: ``default_cache_dir()``).
    ``memory`` bounds each container's memory in bytes (the instance type's memory);
    a container that goes past it dies, as in SageMaker.
    Raises :class:`HostingError` if an artifact is missing or unsafe or a container
    cannot be started; containers already started are stopped first.
    """
    if runtime not in RUNTIMES:
        raise HostingError(f"unknown hosting runtime {runtime!r}: use {' or '.join(RUNTIMES)}")
    cache = cache_dir or default_cache_dir()
    if is_multi_model(model):

        async def load(single: dict[str, Any], where: Path) -> ModelInstance | MultiModelInstance:
            return await start_instance(single, where, runtime, python, cache_dir=cache, memory=memory)

        workdir.mkdir(parents=True, exist_ok=True)
        return MultiModelInstance(model, workdir, load, max_loaded())
    specs = container_specs(model)
    workdir.mkdir(parents=True, exist_ok=True)
    started: list[Container] = []
    try:
        for spec in specs:
            model_dir = await _model_dir(spec, cache, workdir)
            if runtime == "docker":
                from providers.local.hosting.docker_runtime import DockerContainer

                started.append(await DockerContainer.start(spec, model_dir, workdir, memory))
            else:
                started.append(await ProcessContainer.start(spec, model_dir, workdir, python, memory))
    except BaseException:
        await ModelInstance(started).stop()
        raise
    return ModelInstance(started)


async def _model_dir(spec: ContainerSpec, cache: Path, workdir: Path) -> Path:
    if spec.model_data is None:
        empty = workdir / f"container-{spec.index}-model"
        empty.mkdir(exist_ok=True)
        return empty
    try:
        return await asyncio.to_thread(prepare_model_dir, spec.model_data, cache)
    except HostingError as exc:
        raise HostingError(f"{spec.label}: {exc}") from None
    except OSError as exc:
        raise HostingError(f"{spec.label}: cannot prepare the model artifact: {exc}") from None

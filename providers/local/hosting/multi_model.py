"""Multi-model instances: one container image, many models loaded on demand.

A model whose container has ``Mode: MultiModel`` names a *prefix* in its
``ModelDataUrl``; an invocation's ``TargetModel`` is a path under it. As on
SageMaker, the first request for a target model loads ``<prefix>/<TargetModel>``
(a path, ``file://`` or ``s3://``) and later ones reuse it; at most
``SMSTATE_LOCAL_MAX_LOADED_MODELS`` (default 8) target models stay loaded per
instance, and loading one more unloads the least recently used. Each loaded
target model is a model server of its own, started from the container as if it
were a single-model container with that artifact.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from providers.local.hosting.errors import HostingError, RequestRefused

MAX_LOADED_ENV = "SMSTATE_LOCAL_MAX_LOADED_MODELS"
DEFAULT_MAX_LOADED = 8
LOAD_TIMEOUT_SECONDS = 360.0  # how long SageMaker keeps loading a target model

#: Starts a single-model instance of a DescribeModel-shaped model in a directory.
Loader = Callable[[dict[str, Any], Path], Awaitable[Any]]


class TargetModelMissing(RequestRefused):
    """The target model's artifact does not exist under the prefix."""


class TargetModelRequired(RequestRefused):
    """A multi-model instance was invoked without a target model."""


def max_loaded() -> int:
    raw = os.environ.get(MAX_LOADED_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_LOADED
    if not raw.isdigit() or int(raw) < 1:
        raise HostingError(f"{MAX_LOADED_ENV} must be a whole number above 0, not {raw!r}")
    return int(raw)


def is_multi_model(model: dict[str, Any]) -> bool:
    container = model.get("PrimaryContainer") or {}
    return container.get("Mode") == "MultiModel"


def target_url(prefix: str, target: str) -> str:
    """Where the target model lives: the prefix joined with its relative path."""
    if target.startswith("/") or ".." in target.split("/"):
        raise TargetModelMissing(f"{prefix.rstrip('/')}/{target}")
    return f"{prefix.rstrip('/')}/{target}"


def artifact_exists(url: str) -> bool:
    if url.startswith("s3://"):
        from providers.local import s3

        return s3.exists(url)
    path = Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url).expanduser()
    return path.is_file() or path.is_dir()


class MultiModelInstance:
    """One instance of a multi-model endpoint: its loaded target models, in LRU order."""

    def __init__(self, model: dict[str, Any], workdir: Path, loader: Loader, limit: int) -> None:
        self.model = model
        self.prefix: str = model["PrimaryContainer"].get("ModelDataUrl") or ""
        self.workdir = workdir
        self.limit = limit
        self._loader = loader
        self._loaded: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._loading: dict[str, asyncio.Task[Any]] = {}
        self._busy: collections.Counter[int] = collections.Counter()
        self._serial = itertools.count()
        self._stopped = False

    @property
    def alive(self) -> bool:
        return not self._stopped and all(i.alive for i in self._loaded.values())

    async def wait_ready(self, timeout: float) -> None:
        """Nothing is loaded before the first request: the instance is ready at once."""

    async def ping(self) -> bool:
        results = await asyncio.gather(*(i.ping() for i in list(self._loaded.values())))
        return not self._stopped and all(results)

    async def exit_reason(self) -> str | None:
        for target, instance in list(self._loaded.items()):
            reason = await instance.exit_reason()
            if reason is not None:
                return f"target model {target}: {reason}"
        return None

    async def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        target_model: str | None = None,
    ) -> Any:
        if not target_model:
            raise TargetModelRequired("no target model")
        instance = await self._instance(target_model)
        self._busy[id(instance)] += 1
        try:
            return await instance.invoke(body, content_type, accept, custom_attributes)
        finally:
            self._busy[id(instance)] -= 1

    async def _instance(self, target: str) -> Any:
        instance = self._loaded.get(target)
        if instance is not None:
            self._loaded.move_to_end(target)
            return instance
        task = self._loading.get(target)
        if task is None:
            task = asyncio.ensure_future(self._load(target))
            self._loading[target] = task
            task.add_done_callback(lambda _: self._loading.pop(target, None))
        return await asyncio.shield(task)

    async def _load(self, target: str) -> Any:
        url = target_url(self.prefix, target)
        if not await asyncio.to_thread(artifact_exists, url):
            raise TargetModelMissing(url)
        container = {**self.model["PrimaryContainer"], "ModelDataUrl": url, "Mode": "SingleModel"}
        single = {**self.model, "PrimaryContainer": container}
        workdir = self.workdir / f"target-{next(self._serial)}"
        instance = await self._loader(single, workdir)
        try:
            await instance.wait_ready(LOAD_TIMEOUT_SECONDS)
        except BaseException:
            await instance.stop()
            raise
        if self._stopped:
            await instance.stop()
            raise HostingError("the instance was stopped while the target model loaded")
        while len(self._loaded) >= self.limit:
            _, evicted = self._loaded.popitem(last=False)
            await self._unload(evicted)
        self._loaded[target] = instance
        return instance

    async def _unload(self, instance: Any) -> None:
        """Stop an evicted model once the requests it is serving have finished."""
        while self._busy[id(instance)] > 0:
            await asyncio.sleep(0.01)
        del self._busy[id(instance)]
        await instance.stop()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for task in list(self._loading.values()):
            task.cancel()
        loaded, self._loaded = list(self._loaded.values()), collections.OrderedDict()
        await asyncio.gather(*(i.stop() for i in loaded), return_exceptions=True)

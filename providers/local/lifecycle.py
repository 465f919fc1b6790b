"""Endpoints brought to life: creation, deletion, restart, shutdown.

An endpoint's record says what it should be; this module makes the model servers
match and moves `EndpointStatus` only on facts:

- `Creating` -> `InService` once every instance of every variant answers
  `/ping`; -> `Failed` (with `FailureReason`, instances stopped) otherwise;
- `Deleting` -> gone once its instances are stopped, and with it the extracted
  artifacts that no model or endpoint uses any more (as after DeleteModel);
- after a restart of the server, every endpoint that was serving (or in the
  middle of an update) is hosted again on its live config: `SystemUpdating` until
  its instances answer, then `InService`. An update cut short by the restart did
  not happen, as after a SageMaker rollback: the endpoint serves its previous
  config and says why in `FailureReason`. An endpoint caught `Creating` is
  created again; one caught `Deleting` is deleted.

Updates and scaling are in `updates.py`; they share the bookkeeping here.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from providers.local.components import Components
from providers.local.deployment import Deployment, Snapshot
from providers.local.fleet import Starter
from providers.local.mode_views import mode_fields
from providers.local.registry import Record, Registry, Table, key_of
from providers.local.router import Router
from providers.local.tracked import Tracked
from providers.local.views import VariantProps, pending_summary, variant_summaries

log = logging.getLogger("smstate.local")

DEFAULT_STARTUP_TIMEOUT = 180.0

SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})


def startup_timeout(snapshot: Snapshot) -> float:
    """How long a new instance may take to answer `/ping`: the variants'
    `ContainerStartupHealthCheckTimeoutInSeconds`, else three minutes. Not
    time-scaled: a model server takes as long as it takes."""
    values = [
        v["ContainerStartupHealthCheckTimeoutInSeconds"]
        for v in snapshot["config"]["ProductionVariants"]
        if v.get("ContainerStartupHealthCheckTimeoutInSeconds")
    ]
    return float(max(values)) if values else DEFAULT_STARTUP_TIMEOUT


class Endpoints(Tracked):
    """The live side of every endpoint: routers, background tasks, deployments."""

    def __init__(self, registry: Registry, starter: Starter, workdir: Path) -> None:
        super().__init__(registry, Table.ENDPOINT, "endpoint")
        self.starter = starter
        self.workdir = workdir
        self.routers: dict[str, Router] = {}
        self.stages: dict[str, tuple[str, str, float]] = {}
        self._owned: dict[str, set[Deployment]] = {}
        self.components = Components(self)
        #: The first of the named CloudWatch alarms that is in ALARM (auto-rollback reads it).
        self.alarm_check: Callable[[Sequence[str]], str | None] = lambda names: None
        #: Refuses an update (name, deployed snapshot, new snapshot) with an `ApiError`.
        self.update_check: Callable[[str, Snapshot, Snapshot], None] = lambda name, old, new: None
        #: Told the name of an endpoint being deleted.
        self.on_delete: Callable[[str], None] = lambda name: None

    # -- bookkeeping -------------------------------------------------------

    def deployment(self, name: str, snapshot: Snapshot, props: VariantProps) -> Deployment:
        weights = {v: p["DesiredWeight"] for v, p in props.items()}
        counts = {v: p["DesiredInstanceCount"] for v, p in props.items()}
        deployment = Deployment(snapshot, self.workdir / key_of(name), self.starter, weights, counts)
        self._owned.setdefault(key_of(name), set()).add(deployment)
        return deployment

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        router = self.routers.get(key)
        if key in self._owned:  # deployments left behind by the task are stopped ones
            keep = set(router.deployments()) if router else set()
            self._owned[key] = {d for d in self._owned[key] if d in keep}
        super()._finished(key, task)

    def describe(self, record: Record) -> dict[str, Any]:
        """DescribeEndpoint: the stored fields plus the live variants and stage."""
        described = dict(record["describe"])
        key = key_of(described["EndpointName"])
        router = self.routers.get(key)
        if router is not None or described["EndpointStatus"] not in ("Creating", "Failed"):
            created = described["CreationTime"]
            live = router.active if router else None
            described["ProductionVariants"] = variant_summaries(
                record["deployed"], record["variants"], live, created
            )
        live_modes = mode_fields(record["deployed"], router.active if router else None, described["CreationTime"])
        for field, value in live_modes.items():
            if value is None or (field == "ShadowProductionVariants" and "ProductionVariants" not in described):
                described.pop(field, None)
            else:
                described[field] = value
        pending = record.get("pending")
        if pending is not None and key in self.stages:
            incoming = router.incoming if router else None
            described["PendingDeploymentSummary"] = pending_summary(
                pending["snapshot"], pending["variants"], incoming, self.stages[key], pending["started"]
            )
        if "ProductionVariants" in described:
            self.components.fill_variants(described["EndpointName"], described)
        return described

    # -- create, delete ----------------------------------------------------

    def begin_create(self, name: str) -> None:
        self.run(name, self._create(name))

    async def _create(self, name: str, note: str | None = None) -> None:
        record = self.record(name)
        assert record is not None
        deployment = self.deployment(name, record["deployed"], record["variants"])
        try:
            await deployment.start(startup_timeout(record["deployed"]))
        except Exception as exc:
            await deployment.stop()
            log.warning("endpoint %s failed: %s", name, exc)
            self.save(name, record, EndpointStatus="Failed", FailureReason=str(exc))
            return
        self.routers[key_of(name)] = Router(deployment)
        self.save(name, record, EndpointStatus="InService", FailureReason=note)
        log.info("endpoint %s is InService", name)

    async def begin_delete(self, name: str) -> None:
        """Mark the endpoint Deleting, then stop it in the background."""
        record = self.record(name)
        assert record is not None
        self.on_delete(record["describe"]["EndpointName"])
        self.save(name, record, EndpointStatus="Deleting")
        await self.cancel(name)
        self.run(name, self._delete(name))

    async def _delete(self, name: str) -> None:
        key = key_of(name)
        await self.stop_all(key)
        await asyncio.to_thread(shutil.rmtree, self.workdir / key, True)
        await self.prune_artifacts(deleting=key)  # before the endpoint is seen gone
        self.registry.delete(Table.ENDPOINT, key)
        self.stages.pop(key, None)
        log.info("endpoint %s deleted", name)

    async def prune_artifacts(self, deleting: str | None = None) -> None:
        """Remove the extracted artifacts no model and no endpoint (but `deleting`) uses any more."""
        from providers.local.hosting.artifacts import artifact_urls, default_cache_dir, prune_cache

        keep: set[str] = set()
        for _, model in self.registry.items(Table.MODEL):
            keep |= artifact_urls(model["describe"])
        for key, endpoint in self.registry.items(Table.ENDPOINT):
            if key == deleting:
                continue
            for snapshot in (endpoint.get("deployed"), (endpoint.get("pending") or {}).get("snapshot")):
                for described in ((snapshot or {}).get("models") or {}).values():
                    keep |= artifact_urls(described)
        try:
            removed = await asyncio.to_thread(prune_cache, default_cache_dir(), keep)
        except OSError as exc:
            log.warning("could not remove unused model artifacts: %s", exc)
            return
        for entry in removed:
            log.info("removed the unused model artifact cache %s", entry)

    async def stop_all(self, key: str) -> None:
        self.routers.pop(key, None)
        owned = self._owned.pop(key, set())
        await asyncio.gather(*(d.stop() for d in owned), return_exceptions=True)

    # -- restart, shutdown -------------------------------------------------

    def restore(self) -> None:
        """Host again what the registry says was live (see the module doc)."""
        for _, record in self.registry.items(Table.ENDPOINT):
            name = record["describe"]["EndpointName"]
            status = record["describe"]["EndpointStatus"]
            if status == "Deleting":
                self.run(name, self._delete(name))
            elif status == "Creating":
                self.run(name, self._create(name))
            elif status in SERVING:
                note = record["describe"].get("FailureReason")
                if record.pop("pending", None) is not None:
                    note = "The update was interrupted by a restart of the local server; it was rolled back."
                self.save(name, record, EndpointStatus="SystemUpdating", PendingDeploymentSummary=None)
                self.run(name, self._create(name, note=note))
        self.components.restore()

    async def shutdown(self) -> None:
        """Stop every background task and every model server."""
        await self.components.shutdown()
        await self.stop_tasks()
        await asyncio.gather(*(self.stop_all(key) for key in list(self._owned)), return_exceptions=True)

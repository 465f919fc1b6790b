"""UpdateEndpoint and UpdateEndpointWeightsAndCapacities on live endpoints.

An update is accepted only while the endpoint is `InService`, as in SageMaker.
It moves the endpoint to `Updating` and rolls out in the background (see
`rollout.py`); the outcome is what DescribeEndpoint then tells:

- success: `InService` on the new config;
- failure: `InService` on the old config, with `FailureReason` (a rollback);
- failure whose rollback also failed: `UpdateRollbackFailed`.

`RetainAllVariantProperties` keeps the weights and counts of variants the two
configs share (minus `ExcludeRetainedVariantProperties`);
`RetainDeploymentConfig` reuses the last `DeploymentConfig` when none is given.
Weight changes apply at once (the endpoint shows `Updating` for a moment, as on
SageMaker); capacity changes grow or shrink fleets in place,
and a capacity change that cannot be met goes `RollingBack` to the previous
counts, then `InService` with a `FailureReason`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from providers.local import policy
from providers.local.deployment import Snapshot
from providers.local.errors import validation
from providers.local.lifecycle import Endpoints, startup_timeout
from providers.local.registry import key_of
from providers.local.rollout import RollbackFailed, RolloutFailed, roll_out
from providers.local.settings import time_scale
from providers.local.views import initial_props, retained_props

log = logging.getLogger("smstate.local")

#: How long a weights-only UpdateEndpointWeightsAndCapacities shows `Updating`
#: (times `SMSTATE_LOCAL_TIME_SCALE`).
WEIGHT_CHANGE_SECONDS = 2.0


def _require_in_service(record: dict[str, Any]) -> None:
    describe = record["describe"]
    status = describe["EndpointStatus"]
    if status == "InService":
        return
    if status in ("Failed", "UpdateRollbackFailed"):
        raise validation(
            f"Cannot update endpoint \"{describe['EndpointArn']}\" in {status} status; delete and create it again."
        )
    raise validation(f"Cannot update in-progress endpoint \"{describe['EndpointArn']}\".")


def begin_update(endpoints: Endpoints, name: str, snapshot: Snapshot, params: dict[str, Any]) -> None:
    """Validate an UpdateEndpoint call, mark the endpoint Updating, start the rollout."""
    record = endpoints.record(name)
    assert record is not None
    _require_in_service(record)
    endpoints.update_check(record["describe"]["EndpointName"], record["deployed"], snapshot)
    props = initial_props(snapshot)
    if params.get("RetainAllVariantProperties"):
        excluded = {p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties") or []}
        props = retained_props(props, record["variants"], excluded)
    config = params.get("DeploymentConfig")
    if config is None and params.get("RetainDeploymentConfig"):
        config = record["describe"].get("LastDeploymentConfig")
    plan = policy.plan(config, sum(p["DesiredInstanceCount"] for p in props.values()))
    now = time.time()
    record["pending"] = {"snapshot": snapshot, "variants": props, "started": now}
    endpoints.stages[key_of(name)] = ("Creating", "Update requested.", now)
    fields: dict[str, Any] = {"EndpointStatus": "Updating"}
    if config is not None:
        fields["LastDeploymentConfig"] = config
    endpoints.save(name, record, **fields)
    endpoints.run(name, _update(endpoints, name, plan))


async def _update(endpoints: Endpoints, name: str, plan: policy.Plan) -> None:
    record = endpoints.record(name)
    assert record is not None
    key = key_of(name)
    pending = record["pending"]
    router = endpoints.routers[key]
    new = endpoints.deployment(name, pending["snapshot"], pending["variants"])

    def report(status: str, message: str) -> None:
        endpoints.stages[key] = (status, message, time.time())

    try:
        await roll_out(router, new, plan, startup_timeout(pending["snapshot"]), report, endpoints.alarm_check)
    except RolloutFailed as exc:
        _settle(endpoints, name, record, "InService", str(exc))
    except RollbackFailed as exc:
        _settle(endpoints, name, record, "UpdateRollbackFailed", str(exc))
    else:
        record["deployed"], record["variants"] = pending["snapshot"], pending["variants"]
        config_name = pending["snapshot"]["config"]["EndpointConfigName"]
        _settle(endpoints, name, record, "InService", None, EndpointConfigName=config_name)


def _settle(
    endpoints: Endpoints, name: str, record: dict[str, Any], status: str, reason: str | None, **more: Any
) -> None:
    log.info("endpoint %s update finished: %s%s", name, status, f" ({reason})" if reason else "")
    record.pop("pending", None)
    endpoints.stages.pop(key_of(name), None)
    endpoints.save(name, record, EndpointStatus=status, FailureReason=reason, **more)


def begin_scale(endpoints: Endpoints, name: str, desired: list[dict[str, Any]]) -> None:
    """UpdateEndpointWeightsAndCapacities: weights now, capacity in the background."""
    record = endpoints.record(name)
    assert record is not None
    _require_in_service(record)
    unknown = [d["VariantName"] for d in desired if d["VariantName"] not in record["variants"]]
    if unknown:
        raise validation(f"The variant(s) {unknown} are not present in endpoint \"{name}\".")
    router = endpoints.routers[key_of(name)]
    old = {v: dict(p) for v, p in record["variants"].items()}
    counts = {}
    for change in desired:
        props = record["variants"][change["VariantName"]]
        if change.get("DesiredWeight") is not None:
            props["DesiredWeight"] = float(change["DesiredWeight"])
            router.active.set_weight(change["VariantName"], props["DesiredWeight"])
        if change.get("DesiredInstanceCount") is not None:
            props["DesiredInstanceCount"] = counts[change["VariantName"]] = change["DesiredInstanceCount"]
    endpoints.save(name, record, EndpointStatus="Updating")
    endpoints.run(name, _scale(endpoints, name, counts, old) if counts else _reweigh(endpoints, name))


async def _reweigh(endpoints: Endpoints, name: str) -> None:
    """A weights-only change: in force at once, `Updating` for a moment, as on SageMaker."""
    await asyncio.sleep(WEIGHT_CHANGE_SECONDS * time_scale())
    record = endpoints.record(name)
    assert record is not None
    endpoints.save(name, record, EndpointStatus="InService", FailureReason=None)


async def _scale(endpoints: Endpoints, name: str, counts: dict[str, int], old: dict[str, Any]) -> None:
    record = endpoints.record(name)
    assert record is not None
    deployment = endpoints.routers[key_of(name)].active
    deployment.counts.update(counts)
    try:
        await deployment.resize(counts, startup_timeout(record["deployed"]))
    except Exception as exc:
        endpoints.save(name, record, EndpointStatus="RollingBack")
        previous = {v: old[v]["DesiredInstanceCount"] for v in counts}
        deployment.counts.update(previous)
        await deployment.resize(previous, startup_timeout(record["deployed"]))
        for variant, count in previous.items():
            record["variants"][variant]["DesiredInstanceCount"] = count
        endpoints.save(name, record, EndpointStatus="InService", FailureReason=f"Scaling failed: {exc}")
        return
    endpoints.save(name, record, EndpointStatus="InService", FailureReason=None)

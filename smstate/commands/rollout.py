"""`smstate rollout status ENDPOINT`: where an endpoint's deployment is, from DescribeEndpoint."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..addresses import Address
from ..errors import SmstateError
from ..pipeline import Inputs, load, provider_for, read_state
from ..attached import attached
from ..health import lines as health_lines
from ..health import reader, watched
from ..provider import Provider
from ..resources import BY_STATE_TYPE, KINDS, Kind, rollout_kind
from ..state import ObjectState
from .listing import listed_ids
from .run import out


def status(inputs: Inputs, endpoint: str, as_json: bool) -> int:
    loaded = load(inputs)
    kind = rollout_kind()
    name = endpoint
    if endpoint.startswith(f"{kind.type}."):
        state = read_state(loaded.workspace.backend(loaded.config))
        obj = state.resources.get(str(Address.parse(endpoint)))
        if obj is None:
            raise SmstateError(f"{endpoint} is not in the state")
        name = obj.id
    provider = provider_for(loaded)
    live = provider.read(kind, name)
    if live is None:
        raise SmstateError(f"no endpoint named {name!r}")
    report = summarize(live.description)
    report["components"] = components(provider, name)
    hosted = {str(c["name"]) for c in report["components"]}
    watching = _watched(loaded, provider, kind, name, live.description, hosted)
    report.update({"watched": watching} if watching else {})  # only an endpoint with alarms or scaling has any
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        out.print("\n".join(lines(report)))
    return 0


def _watched(
    loaded: Any, provider: Provider, kind: Kind, name: str, description: dict[str, Any], hosted: set[str]
) -> list[dict[str, Any]]:
    """The alarms its rollback names and the scaling targets attached to it or to the objects
    `hosted` as copies on it, as the state knows them."""
    state = read_state(loaded.workspace.backend(loaded.config))
    rollback = ((description.get("LastDeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    named = {a.get("AlarmName") for a in rollback}
    recorded = next((obj for obj in state.resources.values() if obj.type == kind.state_type and obj.id == name), None)
    named |= _strings(recorded.spec) if recorded is not None else set()  # the rollback alarms the config names
    scaled = {obj.id for _, obj, _ in attached(state, Address(kind.type, name), name)}
    copy_types = {k.type for k in KINDS.values() if k.copies is not None}

    def keep(obj: ObjectState) -> bool:
        on_copies = any(t in copy_types and str(n) in hosted for t, n in BY_STATE_TYPE[obj.type].uses(obj.spec))
        return obj.physical_name in named or obj.id in scaled or on_copies

    return watched(state, reader(provider), provider, keep)


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return {value} if isinstance(value, str) else set()


def summarize(description: dict[str, Any]) -> dict[str, Any]:
    """The deployment's status, stage, traffic split and last failure."""
    variants = description.get("ProductionVariants") or []
    total = sum(float(v.get("CurrentWeight", 0) or 0) for v in variants) or 1.0
    pending = description.get("PendingDeploymentSummary") or {}
    stages = [
        {"variant": v.get("VariantName"), "status": s.get("Status"), "message": s.get("StatusMessage", "")}
        for v in pending.get("ProductionVariants", [])
        for s in v.get("VariantStatus", [])
    ]
    return {
        "endpoint": description.get("EndpointName"),
        "status": description.get("EndpointStatus"),
        "endpoint_config_name": description.get("EndpointConfigName"),
        "pending_endpoint_config_name": pending.get("EndpointConfigName"),
        "stages": stages,
        "traffic": [
            {
                "variant": v.get("VariantName"),
                "share": round(float(v.get("CurrentWeight", 0) or 0) / total, 4),
                "instances": v.get("CurrentInstanceCount"),
            }
            for v in variants
        ],
        "last_failure": description.get("FailureReason"),
        "last_deployment_config": description.get("LastDeploymentConfig"),
    }


def components(provider: Provider, endpoint: str) -> list[dict[str, Any]]:
    """Each object hosted as copies on the endpoint: its status, copies (current/desired) and deployment."""
    found = []
    for kind in (k for k in KINDS.values() if k.copies is not None):
        assert kind.copies is not None and kind.statuses is not None
        for object_id, _ in listed_ids(provider, kind, "none shown"):
            live = provider.read(kind, object_id)
            if live is None or live.description.get(kind.copies.endpoint_member) != endpoint:
                continue
            runtime = live.description.get(kind.copies.runtime_member) or {}
            found.append(
                {
                    "name": object_id,
                    "status": live.status,
                    "copies": runtime.get(kind.copies.current_member),
                    "desired_copies": runtime.get(kind.copies.desired_member),
                    "last_failure": live.failure_reason,
                    "last_deployment_config": live.description.get(kind.copies.deployment_member),
                }
            )
    return sorted(found, key=lambda c: str(c["name"]))


def lines(report: dict[str, Any]) -> list[str]:
    out_lines = [f"Endpoint {report['endpoint']}: {report['status']} on {report['endpoint_config_name']}"]
    if report["pending_endpoint_config_name"]:
        out_lines.append(f"  Rolling out: {report['pending_endpoint_config_name']}")
    for stage in report["stages"]:
        message = f" - {stage['message']}" if stage["message"] else ""
        out_lines.append(f"  Stage: {stage['variant']}: {stage['status']}{message}")
    out_lines.append("  Traffic:")
    for item in report["traffic"]:
        out_lines.append(f"    {item['variant']}: {item['share'] * 100:.0f}% ({item['instances']} instances)")
    out_lines.append(f"  Last failure: {report['last_failure'] or 'none'}")
    if report.get("components"):
        out_lines.append("  Inference components:")
    for item in report.get("components", []):
        policy = (item["last_deployment_config"] or {}).get("RollingUpdatePolicy") or {}
        batch = policy.get("MaximumBatchSize") or {}
        rolling = f", rolling {batch.get('Value')} {batch.get('Type')}" if batch else ""
        failure = f", last failure: {item['last_failure']}" if item["last_failure"] else ""
        out_lines.append(
            f"    {item['name']}: {item['status']}, {item['copies']}/{item['desired_copies']} copies{rolling}{failure}"
        )
    if report.get("watched"):
        out_lines.append("  Alarms and scaling:")
        out_lines += ["  " + line for line in health_lines(report["watched"])]
    return out_lines

"""Data-driven planner cases (plan_cases/*.yaml): config + state + live -> changes, drift."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from smstate import config as config_mod
from smstate.addresses import Address
from smstate.changes import Mode
from smstate.errors import SmstateError
from smstate.evaluate import Desired, evaluate
from smstate.live import attributes
from smstate.operations import operations
from smstate.pipeline import known_values
from smstate.plan import Options, lifecycles, make_plan, refresh
from smstate.provider import Live
from smstate.hashing import StateKey
from smstate.state import ObjectState, State, redact

CASES = [c for f in sorted((Path(__file__).parent / "plan_cases").glob("*.yaml")) for c in yaml.safe_load(f.read_text())["cases"]]
OWNER = {"smstate:address": "", "smstate:lineage": "lin"}
KEY = StateKey(b"plan-test-state-key-0123456789")


def describe(desired: Desired) -> Live:
    """What SageMaker would report for an object created from `desired`."""
    kind = desired.kind
    request = dict(desired.request)
    name = desired.physical_name if isinstance(desired.physical_name, str) else None
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:{kind.state_type}/{name or 'p/1'}"
    if kind.name_member and name:
        request[kind.name_member] = name
    status = None
    if kind.type == "endpoints":
        status = "InService"
        request["EndpointStatus"] = status
        request["ProductionVariants"] = [
            {"VariantName": "a", "CurrentWeight": 1.0, "DesiredWeight": 1.0, "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
        ]
        request.pop("DeploymentConfig", None)
    if kind.type == "inference_components":
        status = request["InferenceComponentStatus"] = "InService"
        copies = request.pop("RuntimeConfig")["CopyCount"]
        request["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
        request.pop("DeploymentConfig", None)
    tags = None if kind.type == "model_packages" else {**desired.tags, **OWNER, "smstate:address": str(desired.address)}
    return Live(name, arn, request, tags, status, version=1 if kind.type == "model_packages" else None)


def applied_state(text: str) -> tuple[State, dict[tuple[str, int], Live | None]]:
    config = config_mod.load([("smstate.yaml", text)])
    state = State(lineage="lin", key=KEY)
    lives: dict[tuple[str, int], Live | None] = {}
    for address, desired in evaluate(config, {}, {}, lambda url: "0" * 64).desired.items():
        live = describe(desired)
        lives[(str(address), -1)] = live
        state.resources[str(address)] = ObjectState(
            type=desired.kind.state_type,
            physical_name=live.physical_name,
            arn=live.arn,
            spec_hash=str(desired.spec_hash),
            spec=redact(desired.spec, KEY),
            tags=dict(desired.tags),
            attributes=attributes(desired.kind, live),
            dependencies=[str(d) for d in desired.dependencies],
        )
    return state, lives


def run_case(case: dict[str, Any]) -> Any:
    state, lives = applied_state(case["config"]) if case["state"].get("from_config") else (State(lineage="lin", key=KEY), {})
    for address, patch in (case.get("live_patch") or {}).items():
        live = lives[(address, -1)]
        assert live is not None
        lives[(address, -1)] = Live(live.physical_name, live.arn, {**live.description, **patch}, live.tags, live.status)
    for address, value in (case.get("live_after") or {}).items():
        lives[(address, -1)] = value
    config = config_mod.load([("smstate.yaml", case.get("config_after") or case["config"])])
    refreshed, drift = refresh(state, lives, lifecycles(config))
    evaluation = evaluate(config, {}, known_values(refreshed), lambda url: "0" * 64)
    options = Options(
        Mode(case.get("mode", "normal")),
        frozenset(Address.parse(t) for t in case.get("targets", [])),
        frozenset(Address.parse(t) for t in case.get("replace", [])),
    )
    return make_plan(config, evaluation, refreshed, drift, options)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(SmstateError, match=case["error"]):
            run_case(copy.deepcopy(case))
        return
    plan = run_case(copy.deepcopy(case))
    got = [[str(c.address), c.action.value, c.reason] for c in plan.changes]
    expected = case["expect"]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    for g, e in zip(got, expected):
        assert e[2] in g[2], f"{g[0]}: reason {g[2]!r} does not mention {e[2]!r}"
    want_drift = case.get("drift", [])
    assert [[d.address, d.kind.value] for d in plan.drift] == [w[:2] for w in want_drift]
    for d, w in zip(plan.drift, want_drift):
        if len(w) > 2:
            assert w[2] in [item.path for item in d.diff]


def test_deposed_config_an_endpoint_still_serves_from_is_deleted_only_after_it_leaves() -> None:
    """After a timed-out or rolled-back update the old config stays until the endpoint leaves it:
    while the endpoint is to be updated, its deletion waits for that update (and fails with it)."""
    case = next(c for c in CASES if c["name"] == "a clean apply re-plans to no changes")
    state, lives = applied_state(case["config"])
    config_obj = state.resources["endpoint_configs.c"]
    model_obj = state.resources["models.m"]
    old_config = ObjectState(**{**config_obj.to_json(), "physical_name": "c-old", "deposed": []})
    old_config.spec = {"production_variants": [{"model_name": "m-old"}]}
    old_model = ObjectState(**{**model_obj.to_json(), "physical_name": "m-old", "deposed": []})
    config_obj.deposed = [old_config]
    model_obj.deposed = [old_model]
    lives[("endpoint_configs.c", 0)] = lives[("endpoint_configs.c", -1)]
    lives[("models.m", 0)] = lives[("models.m", -1)]
    endpoint = lives[("endpoints.e", -1)]
    assert endpoint is not None
    serving = {**endpoint.description, "EndpointConfigName": "c-old"}
    lives[("endpoints.e", -1)] = Live(endpoint.physical_name, endpoint.arn, serving, endpoint.tags, "Updating")
    config = config_mod.load([("smstate.yaml", case["config"])])
    refreshed, drift = refresh(state, lives, lifecycles(config))
    plan = make_plan(config, evaluate(config, {}, known_values(refreshed), lambda url: "0" * 64), refreshed, drift, Options())
    changes = [(str(c.address), c.action.value, c.deposed is not None) for c in plan.changes]
    assert changes == [("endpoint_configs.c", "delete", True), ("endpoints.e", "update", False), ("models.m", "delete", True)]
    graph = operations(plan.changes)
    update = next(key for key, (op, _) in graph.items() if op.change.action.value == "update")
    assert all(update in deps for key, (op, deps) in graph.items() if op.change.address.type == "endpoint_configs")

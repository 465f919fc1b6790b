"""Inference components in the core: the order of their operations and the calls that change them."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from smstate.changes import Action
from smstate.inplace import _request
from smstate.operations import Step, operations

from tests.unit.plan_test import CASES, run_case


def _case(name: str) -> dict[str, Any]:
    return copy.deepcopy(next(c for c in CASES if c["name"] == name))


def _waits_for(name: str) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(step, address) -> the (step, address) of every operation it waits for."""
    graph = operations(run_case(_case(name)).changes)
    return {(op.step.value, key[1] + (" (old)" if key[2] else "")): {(d[0], d[1] + (" (old)" if d[2] else "")) for d in deps}
            for key, (op, deps) in graph.items()}  # fmt: skip


def test_components_are_deleted_before_their_endpoint_and_the_model_after_them() -> None:
    waits = _waits_for("destroying deletes the component before its endpoint")
    assert (Step.DESTROY.value, "inference_components.ic") in waits[(Step.DESTROY.value, "endpoints.e")]
    assert (Step.DESTROY.value, "inference_components.ic") in waits[(Step.DESTROY.value, "models.m")]


def test_the_old_model_is_deleted_only_after_the_component_moved_off_it() -> None:
    waits = _waits_for("a new model replaces the model and updates the component in place")
    assert (Step.APPLY.value, "inference_components.ic") in waits[(Step.DESTROY.value, "models.m")]
    assert (Step.APPLY.value, "models.m") in waits[(Step.APPLY.value, "inference_components.ic")]


def _update(name: str) -> tuple[str, dict[str, Any]]:
    plan = run_case(_case(name))
    change = next(c for c in plan.changes if c.address.type == "inference_components")
    assert change.action is Action.UPDATE and change.desired is not None
    changed = sorted({item.path.split(".")[0] for item in change.diff})
    return _request(change.desired.kind, change.desired, changed)


def test_a_copy_count_alone_goes_through_the_runtime_config_call() -> None:
    operation, request = _update("a copy count change is an in-place update of the runtime config")
    assert operation == "UpdateInferenceComponentRuntimeConfig"
    assert request == {"DesiredRuntimeConfig": {"CopyCount": 3}}


def test_a_new_specification_rolls_through_update_inference_component() -> None:
    operation, request = _update("a new model replaces the model and updates the component in place")
    assert operation == "UpdateInferenceComponent"
    assert request["Specification"]["ComputeResourceRequirements"] == {
        "NumberOfCpuCoresRequired": 1.0,
        "MinMemoryRequiredInMb": 1024,
    }
    assert request["Specification"]["ModelName"].startswith("m-")
    assert request["RuntimeConfig"] == {"CopyCount": 1}


def test_an_update_keeps_the_copy_count_that_ignore_changes_leaves_to_autoscaling() -> None:
    from smstate import config as config_mod
    from smstate.evaluate import evaluate
    from smstate.inplace import _kept

    text = _case("a clean apply of components re-plans to no changes")["config"]
    text += "    lifecycle: {ignore_changes: [runtime_config.copy_count]}\n"
    desired = next(d for a, d in evaluate(config_mod.load([("smstate.yaml", text)]), {}, {}, lambda url: "0" * 64).desired.items()
                   if a.type == "inference_components")  # fmt: skip
    live = {"specification": {"model_name": "m-old"}, "runtime_config": {"copy_count": 4}}
    kept = _kept(desired, live)
    assert kept["runtime_config"] == {"copy_count": 4}
    assert kept["specification"] == desired.spec["specification"]
    operation, request = _request(desired.kind, replace(desired, spec=kept), ["specification"])
    assert operation == "UpdateInferenceComponent" and request["RuntimeConfig"] == {"CopyCount": 4}

"""A create that apply stopped waiting for is recorded by name only (status creating, no ARN).

The next refresh keeps it only if the object exists and carries this state's ownership tags for
that address; otherwise it is forgotten, without reporting drift: it was never known to exist.
"""

from __future__ import annotations

from smstate.plan import refresh
from smstate.provider import Live
from smstate.state import ObjectState, State

LINEAGE = "lin-1"
ADDRESS = "models.m"


def _state() -> State:
    record = ObjectState(type="model", physical_name="m-1234abcd", spec={"execution_role_arn": "r"}, status="creating")
    return State(lineage=LINEAGE, serial=4, resources={ADDRESS: record})


def _live(lineage: str, address: str = ADDRESS) -> Live:
    description = {"ModelName": "m-1234abcd", "ModelArn": "arn:model/m-1234abcd", "ExecutionRoleArn": "r"}
    tags = {"smstate:lineage": lineage, "smstate:address": address}
    return Live("m-1234abcd", "arn:model/m-1234abcd", description, tags)


def test_a_create_that_happened_is_taken_in_without_drift() -> None:
    refreshed, drift = refresh(_state(), {(ADDRESS, -1): _live(LINEAGE)}, {})
    obj = refreshed.resources[ADDRESS]
    assert drift == []
    assert (obj.status, obj.arn, obj.attributes) == ("ready", "arn:model/m-1234abcd", {"execution_role_arn": "r"})


def test_a_create_that_never_happened_is_forgotten_without_drift() -> None:
    refreshed, drift = refresh(_state(), {(ADDRESS, -1): None}, {})
    assert drift == [] and ADDRESS not in refreshed.resources


def test_an_object_of_that_name_that_is_not_ours_is_never_taken_in() -> None:
    for live in (_live("another-lineage"), _live(LINEAGE, "models.other")):
        refreshed, drift = refresh(_state(), {(ADDRESS, -1): live}, {})
        assert drift == [] and ADDRESS not in refreshed.resources

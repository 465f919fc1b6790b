"""Which objects a refresh describes, from what their List rows show: cases as data."""

from __future__ import annotations

from typing import Any

import pytest

from smstate.provider import Live, Summary
from smstate.refresh import LIST_FROM, refresh_lives
from smstate.resources import KINDS, Kind
from smstate.state import ObjectState, State

CREATED, MODIFIED, LATER = "2026-12-01T10:00:00+00:00", "2026-12-01T10:05:00+00:00", "2026-12-02T09:00:00+00:00"
ENDPOINT = KINDS["endpoints"]


class Account:
    """A provider answering List rows, bulk tags and reads from plain dicts, and counting reads."""

    def __init__(self, rows: dict[str, Summary], bulk: dict[str, dict[str, str]]) -> None:
        self.rows = rows
        self.bulk = bulk
        self.described: list[str] = []
        self.tags_listed: list[str] = []

    def list_summaries(self, kind: Kind, created_after: str | None) -> dict[str, Summary]:
        return self.rows

    def tags_in_bulk(self, arns: list[str]) -> dict[str, dict[str, str]]:
        return {arn.lower(): tags for arn, tags in self.bulk.items() if arn in arns}

    def tags_of(self, arn: str) -> dict[str, str]:
        self.tags_listed.append(arn)
        return {"listed": "one by one"}

    def read(self, kind: Kind, object_id: str) -> Live | None:
        self.described.append(object_id)
        return Live(object_id, f"arn:{object_id}", {"EndpointName": object_id}, {})


def endpoints(status: str = "ready") -> State:
    state = State()
    for i in range(LIST_FROM):
        state.resources[f"endpoints.e{i}"] = ObjectState(
            "endpoint", f"e{i}", f"arn:e{i}", created=CREATED, modified=MODIFIED, status=status
        )
    return state


def rows(**changed: Any) -> dict[str, Summary]:
    """A row per endpoint showing what state recorded, but for e0, which shows `changed`."""
    same = {f"e{i}": Summary(f"arn:e{i}", CREATED, MODIFIED, "InService") for i in range(LIST_FROM)}
    same["e0"] = Summary(**{"arn": "arn:e0", "created": CREATED, "modified": MODIFIED, "status": "InService", **changed})
    return same


@pytest.mark.parametrize(
    "row",
    [
        {"modified": LATER},  # a weight, a count or a config changed by hand
        {"status": "Updating"},  # a change under way
        {"created": LATER},  # deleted and made again under the same name
    ],
)
def test_an_endpoint_whose_row_shows_a_change_is_described(row: dict[str, Any]) -> None:
    account = Account(rows(**row), {})
    lives = refresh_lives(account, endpoints(), 4)  # type: ignore[arg-type]
    assert account.described == ["e0"]
    assert lives[("endpoints.e0", -1)] is not None and not lives[("endpoints.e0", -1)].unchanged  # type: ignore[union-attr]
    assert all(lives[(f"endpoints.e{i}", -1)].unchanged for i in range(1, LIST_FROM))  # type: ignore[union-attr]


def test_an_endpoint_missing_from_the_list_is_described() -> None:
    listed = rows()
    del listed["e0"]
    account = Account(listed, {})
    refresh_lives(account, endpoints(), 4)  # type: ignore[arg-type]
    assert account.described == ["e0"]


def test_endpoints_state_recorded_in_progress_are_all_described() -> None:
    account = Account(rows(), {})
    refresh_lives(account, endpoints(status="creating"), 4)  # type: ignore[arg-type]
    assert sorted(account.described) == sorted(f"e{i}" for i in range(LIST_FROM))


def test_tags_come_in_bulk_and_one_by_one_only_for_arns_left_out() -> None:
    account = Account(rows(), {f"arn:e{i}": {"team": str(i)} for i in range(1, LIST_FROM)})
    lives = refresh_lives(account, endpoints(), 4)  # type: ignore[arg-type]
    assert account.described == [] and account.tags_listed == ["arn:e0"]
    assert lives[("endpoints.e0", -1)].tags == {"listed": "one by one"}  # type: ignore[union-attr]
    assert lives[("endpoints.e5", -1)].tags == {"team": "5"}  # type: ignore[union-attr]


def test_a_state_without_a_recorded_modification_time_describes_its_endpoints() -> None:
    state = endpoints()
    for obj in state.resources.values():
        obj.modified = None
    account = Account(rows(), {})
    refresh_lives(account, state, 4)  # type: ignore[arg-type]
    assert len(account.described) == LIST_FROM

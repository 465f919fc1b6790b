"""A kind is one declaration (smstate/resources.py): the rest of the code reads its traits.

Two guards: no module outside the declarations names a kind, and a kind declared only in
the table is read by the provider, refreshed, compared for drift and rendered.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.stub import Stubber

from providers.aws.provider import AwsProvider
from smstate.addresses import RESOURCE_TYPES
from smstate.aws import AwsSettings
from smstate.changes import DriftKind
from smstate.hashing import StateKey
from smstate.plan import refresh
from smstate.refresh import refresh_lives
from smstate.render import drift_lines
from smstate.resources import BY_STATE_TYPE, KINDS, Identity, Kind, Listing
from smstate.state import ObjectState, State

REPO = Path(__file__).resolve().parents[2]
DECLARATIONS = {"smstate/resources.py", "smstate/addresses.py"}
ALLOWED = {
    ("smstate/config.py", "endpoints"): "provider.endpoints, the per-service URL map, not a kind",
    ("smstate/commands/rollout.py", "endpoint"): "the `endpoint` key of the rollout status report (a JSON contract)",
}
def _kind_names() -> set[str]:
    return {name for kind in KINDS.values() for name in (kind.type, kind.state_type)}


def _named(path: Path) -> Iterator[tuple[int, str]]:
    names = _kind_names()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            yield node.lineno, node.value


def test_the_declaration_table_and_the_address_types_agree() -> None:
    assert tuple(KINDS) == RESOURCE_TYPES
    assert set(BY_STATE_TYPE) == {k.state_type for k in KINDS.values()}


def test_no_module_outside_the_declarations_names_a_kind() -> None:
    found = [
        f"{rel}:{line}: {value!r}"
        for path in sorted([*REPO.joinpath("smstate").rglob("*.py"), *REPO.joinpath("providers", "aws").rglob("*.py")])
        if (rel := str(path.relative_to(REPO))) not in DECLARATIONS
        for line, value in _named(path)
        if (rel, value) not in ALLOWED
    ]
    assert found == [], "kind names outside smstate/resources.py: read a kind trait instead\n" + "\n".join(found)


CARDS = Kind(
    "model_cards",
    "model_card",
    "CreateModelCard",
    "DescribeModelCard",
    "DeleteModelCard",
    "ModelCardName",
    identity=Identity.LOGICAL,
    arn_member="ModelCardArn",
    listing=Listing("ListModelCards", "ModelCardSummaries", "ModelCardName", "ModelCardArn"),
    update="UpdateModelCard",
    update_member="ModelCardName",
    mutable=frozenset({"content", "model_card_status"}),
)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-card/card-1"


@pytest.fixture()
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsProvider, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setitem(KINDS, CARDS.type, CARDS)
    monkeypatch.setitem(BY_STATE_TYPE, CARDS.state_type, CARDS)
    aws = AwsProvider(AwsSettings(region="us-east-1"))
    with Stubber(aws.sagemaker) as stub:
        yield aws, stub
        stub.assert_no_pending_responses()


def test_a_kind_declared_only_in_the_table_is_read_refreshed_and_rendered(provider: tuple[AwsProvider, Stubber]) -> None:
    aws, stub = provider
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    described = {
        "ModelCardArn": ARN, "ModelCardName": "card-1", "ModelCardVersion": 2, "Content": "{}",
        "ModelCardStatus": "Approved", "CreationTime": now, "CreatedBy": {},
    }
    stub.add_response("describe_model_card", described, {"ModelCardName": "card-1"})
    stub.add_response("list_tags", {"Tags": [{"Key": "team", "Value": "a"}]}, {"ResourceArn": ARN})
    state = State(lineage="lin", key=StateKey(b"kinds-test-state-key-0123456789"))
    recorded = {"content": "{}", "model_card_status": "Draft", "tags": {"team": "a"}}
    state.resources["model_cards.c"] = ObjectState("model_card", "card-1", ARN, "h", {}, {"team": "a"}, recorded, [])

    lives = refresh_lives(aws, state, parallelism=1)
    live = lives[("model_cards.c", -1)]
    assert live is not None and live.arn == ARN and live.tags == {"team": "a"}

    refreshed, drift = refresh(state, lives, {})
    assert [(d.address, d.kind, d.type) for d in drift] == [("model_cards.c", DriftKind.MODIFIED, "model_card")]
    assert refreshed.resources["model_cards.c"].attributes["model_card_status"] == "Approved"
    text = "\n".join(drift_lines(drift))
    assert "model_cards.c (card-1) has changed" in text
    assert 'model_card_status: "Draft" -> "Approved"' in text

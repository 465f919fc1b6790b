"""A kind the target cannot list is left out of a report with a warning; the others are listed."""

from __future__ import annotations

from typing import Any

import pytest

from smstate.commands.listing import listed_ids
from smstate.errors import ProviderError
from smstate.resources import KINDS, Kind

LISTED, UNLISTED = list(KINDS.values())[:2]


class Target:
    """Lists one kind and refuses the List operation of another, as a server without that API does."""

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        if kind is UNLISTED:
            raise ProviderError(f"{kind.listing.operation}: 500: Internal Server Error")
        return [("one", "arn:one")]


def test_a_kind_that_cannot_be_listed_is_left_out_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    target: Any = Target()
    assert listed_ids(target, LISTED, "not checked") == [("one", "arn:one")]
    assert capsys.readouterr().err == ""

    assert listed_ids(target, UNLISTED, "not checked") == []
    warning = capsys.readouterr().err
    assert warning.startswith(f"Warning: cannot list {UNLISTED.type}, not checked: ")
    assert "500: Internal Server Error" in warning

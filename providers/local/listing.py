"""The List* conventions shared by every kind: filters, sorting, pagination.

Most SageMaker list calls default to the newest first (`CreationTime`,
`Descending`), the model registry's to the oldest first (`Ascending`), as
botocore's documentation of each call says; 10 results a page. `NextToken` is opaque to clients. Here it encodes the
offset of the next page within the filtered, sorted list, so a client paging
through an unchanged list sees every object exactly once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from providers.local.errors import validation

Summary = dict[str, Any]

DEFAULT_PAGE = 10

#: SortBy value -> field of the summary that it sorts on.
SORT_FIELDS = {"Name": None, "CreationTime": "CreationTime", "Status": "EndpointStatus"}


def epoch(value: Any) -> float:
    """A request timestamp (epoch number, ISO string or datetime) as epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    from botocore.utils import parse_to_aware_datetime

    return parse_to_aware_datetime(value).timestamp()


def time_filters(params: dict[str, Any]) -> list[Callable[[Summary], bool]]:
    """Predicates for the *Before/*After request members that are present."""
    checks: list[Callable[[Summary], bool]] = []
    for member, field, after in (
        ("CreationTimeBefore", "CreationTime", False),
        ("CreationTimeAfter", "CreationTime", True),
        ("LastModifiedTimeBefore", "LastModifiedTime", False),
        ("LastModifiedTimeAfter", "LastModifiedTime", True),
    ):
        if params.get(member) is not None:
            checks.append(_bound(field, epoch(params[member]), after))
    return checks


def _bound(field: str, bound: float, after: bool) -> Callable[[Summary], bool]:
    def check(summary: Summary) -> bool:
        value = float(summary[field])
        return value > bound if after else value < bound

    return check


def page(
    params: dict[str, Any],
    summaries: Iterable[Summary],
    name_field: str,
    list_field: str,
    extra_checks: Iterable[Callable[[Summary], bool]] = (),
    default_page: int = DEFAULT_PAGE,
    default_order: str = "Descending",
) -> dict[str, Any]:
    """One page of `summaries` as a List* response under `list_field`."""
    checks = time_filters(params) + list(extra_checks)
    contains = params.get("NameContains")
    if contains:
        needle = contains.lower()
        checks.append(lambda s: needle in str(s.get(name_field, "")).lower())
    selected = [s for s in summaries if all(check(s) for check in checks)]
    sort_by = params.get("SortBy") or "CreationTime"
    field = SORT_FIELDS.get(sort_by, "CreationTime") or name_field
    descending = (params.get("SortOrder") or default_order) == "Descending"
    selected.sort(key=lambda s: (s.get(field) or "", str(s.get(name_field, ""))), reverse=descending)
    start = _offset(params.get("NextToken"))
    size = params.get("MaxResults") or default_page
    response: dict[str, Any] = {list_field: selected[start : start + size]}
    if start + size < len(selected):
        response["NextToken"] = _token(start + size)
    return response


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise validation(f"Invalid pagination token {token!r}.")

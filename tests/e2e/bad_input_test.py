"""Bad input of every kind: exit 1, one `Error:` line per problem, no traceback, state untouched.

Every case starts from a copy of the shared applied `examples/aws-basic` directory, so there
is a real statefile (and its backup) to compare byte for byte.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from .conftest import Project
from .helpers import assert_clean_failure, state_path


@pytest.fixture
def copy(shared_copy: Project) -> Project:
    """A copy of the applied example (config and state), to break in one way per test."""
    return shared_copy


def _line_of(project: Project, text: str) -> int:
    lines = project.config.read_text().splitlines()
    [number] = [i + 1 for i, line in enumerate(lines) if text in line]
    return number


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Project], None]
    args: tuple[str, ...]
    needles: Callable[[Project], tuple[str, ...]]
    errors: int = 1
    var_file: bool = True
    check: Callable[[str], None] | None = None


def _edit(old: str, new: str) -> Callable[[Project], None]:
    return lambda p: p.edit(old, new)


def _truncate_state(p: Project) -> None:
    path = state_path(p.dir)
    path.write_bytes(path.read_bytes()[:200])


def _future_state(p: Project) -> None:
    path = state_path(p.dir)
    data = json.loads(path.read_text())
    data["format_version"] = 99
    path.write_text(json.dumps(data, indent=2))


def _nothing(p: Project) -> None:
    pass


def _check_cycle(error: str) -> None:
    """The cycle is named once round: a -> b -> c -> a."""
    chain = error.split("dependency cycle: ", 1)[1].strip().split(" -> ")
    assert chain[0] == chain[-1], chain
    assert sorted(chain[:-1]) == ["endpoint_configs.churn", "endpoints.churn", "models.churn"], chain


CASES = [
    Case(
        "yaml-syntax",
        _edit("endpoints:\n  churn:\n", "endpoints:\n  churn: [unclosed\n"),
        ("apply", "--auto-approve"),
        lambda p: ("smstate.yaml:", "invalid YAML"),
    ),
    Case(
        "unknown-field",
        _edit("      image: ${var.image}", "      imagee: ${var.image}"),
        ("apply", "--auto-approve"),
        lambda p: (
            f"smstate.yaml:{_line_of(p, 'imagee')}: models.churn.primary_container.imagee",
            "did you mean 'image'",
        ),
    ),
    Case(
        "wrong-type",
        _edit("initial_instance_count: 1", 'initial_instance_count: "two"'),
        ("apply", "--auto-approve"),
        lambda p: (
            f"smstate.yaml:{_line_of(p, 'initial_instance_count')}:",
            "endpoint_configs.churn.production_variants[0].initial_instance_count",
        ),
    ),
    Case(
        "enum",
        _edit("model_approval_status: PendingManualApproval", "model_approval_status: Maybe"),
        ("apply", "--auto-approve"),
        lambda p: (
            f"smstate.yaml:{_line_of(p, 'Maybe')}: model_packages.churn-v1.model_approval_status",
            "Maybe",
            "Approved",
        ),
    ),
    Case(
        "missing-variables",
        _nothing,
        ("apply", "--auto-approve"),
        lambda p: ("variables.role", "variables.subnets", "variables.security_group"),
        errors=3,
        var_file=False,
    ),
    Case(
        "undeclared-reference",
        _edit("${endpoint_configs.churn.name}", "${endpoint_configs.nope.name}"),
        ("apply", "--auto-approve"),
        lambda p: (f"smstate.yaml:{_line_of(p, 'endpoint_configs.nope')}:", "endpoints.churn", "endpoint_configs.nope"),
    ),
    Case(
        "cycle",
        _edit("SAGEMAKER_PROGRAM: inference.py", "SAGEMAKER_PROGRAM: ${endpoints.churn.name}"),
        ("apply", "--auto-approve"),
        lambda p: ("dependency cycle", "models.churn", "endpoint_configs.churn", "endpoints.churn"),
        check=lambda error: _check_cycle(error),
    ),
    Case(
        "corrupt-state",
        _truncate_state,
        ("apply", "--auto-approve"),
        lambda p: (str(state_path(p.dir)), "not valid JSON"),
    ),
    Case(
        "future-state",
        _future_state,
        ("apply", "--auto-approve"),
        lambda p: (str(state_path(p.dir)), "format_version 99"),
    ),
    Case("bad-target-syntax", _nothing, ("plan", "--target", "churn"), lambda p: ("'churn'", "TYPE.NAME")),
    Case("unknown-target", _nothing, ("plan", "--target", "models.nope"), lambda p: ("models.nope",)),
    Case("var-syntax", _nothing, ("plan", "--var", "team"), lambda p: ("--var", "'team'", "NAME=VALUE")),
    Case("undeclared-var", _nothing, ("plan", "--var", "tema=x"), lambda p: ("tema", "no variable")),
    Case("missing-var-file", _nothing, ("plan", "--var-file", "nope.yaml"), lambda p: ("nope.yaml",)),
    Case("bad-duration", _nothing, ("plan", "--lock-timeout", "soon"), lambda p: ("'soon'",)),
    Case("bad-option", _nothing, ("plan", "--bogus"), lambda p: ("--bogus",)),
    Case("unknown-command", _nothing, ("plna",), lambda p: ("plna",), var_file=False),
    Case("state-show-unknown", _nothing, ("state", "show", "models.nope"), lambda p: ("models.nope",), var_file=False),
    Case("output-unknown", _nothing, ("output", "nope"), lambda p: ("nope",), var_file=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, copy: Project) -> None:
    case.change(copy)
    state_before = state_path(copy.dir).read_bytes()
    backup = state_path(copy.dir).with_name("default.json.backup")
    backup_before = backup.read_bytes()
    args = [case.args[0], "--var-file", str(copy.var_file), *case.args[1:]] if case.var_file else case.args

    result = copy.run(*args)

    error = assert_clean_failure(result, *case.needles(copy), errors=case.errors)
    if case.check is not None:
        case.check(error)
    assert state_path(copy.dir).read_bytes() == state_before
    assert backup.read_bytes() == backup_before
    assert not state_path(copy.dir).with_name("default.json.lock").exists()


def test_held_lock_is_refused_naming_its_holder(copy: Project) -> None:
    lock = state_path(copy.dir).with_name("default.json.lock")
    lock_id = "0f4c2a7e-1111-2222-3333-444455556666"
    holder = {
        "id": lock_id, "operation": "apply", "pid": 424242,
        "host": "ci-runner-7", "user": "alice", "time": "2024-05-01T10:00:00Z",
    }
    lock.write_text(json.dumps(holder))
    before = state_path(copy.dir).read_bytes()

    started = time.monotonic()
    result = copy.plan("--lock-timeout", "1s")
    waited = time.monotonic() - started

    assert_clean_failure(result, "locked")
    assert lock_id in result.err
    assert "424242" in result.err
    assert "alice@ci-runner-7" in result.err
    assert f"smstate force-unlock {lock_id}" in result.err
    assert waited >= 1.0
    assert state_path(copy.dir).read_bytes() == before
    assert json.loads(lock.read_text()) == holder  # somebody else's lock is never removed

    # force-unlock with the wrong ID is refused; with the right one the next plan goes through
    assert_clean_failure(copy.run("force-unlock", "not-the-id"), "does not match")
    assert lock.exists()
    unlocked = copy.run("force-unlock", lock_id)
    assert unlocked.code == 0, str(unlocked)
    assert not lock.exists()
    assert copy.plan("--detailed-exitcode").code == 0


def test_config_errors_are_all_reported_at_once(copy: Project) -> None:
    copy.edit("      image: ${var.image}", "      imagee: ${var.image}")
    copy.edit("initial_instance_count: 1", 'initial_instance_count: "two"')
    copy.edit("model_approval_status: PendingManualApproval", "model_approval_status: Maybe")
    before = state_path(copy.dir).read_bytes()

    result = copy.plan()

    error = assert_clean_failure(result, "imagee", "initial_instance_count", "Maybe", errors=3)
    assert error.count("smstate.yaml:") == 3
    assert state_path(copy.dir).read_bytes() == before

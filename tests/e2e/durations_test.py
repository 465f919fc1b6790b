"""Every duration, on the command line or in the config, is finite and non-negative.

NaN compares false with every deadline and infinity never arrives: `--lock-timeout nan` used to
wait for a held lock forever. Each bad value is one `Error:` line, exit 1, and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.harness import environ, main_in_process

from .helpers import assert_clean_failure, cli_env, run_cli, state_path

BAD = ("nan", "NaN", "inf", "-inf", "infinity", "-1s", "-0.5", "1e400h", "soon", "")
LOCKING = (("plan",), ("apply", "--auto-approve"), ("destroy", "--auto-approve"), ("state", "rm", "models.m"),
           ("state", "push", "state/default.json"), ("import", "models.m", "m"))  # fmt: skip
CONFIG = 'provider: {type: aws, region: us-east-1, endpoint_url: "http://127.0.0.1:9"%s}\nmodels: {}\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config and a statefile; the endpoint URL is closed, so nothing can get past the parsing."""
    (tmp_path / "smstate.yaml").write_text(CONFIG % "")
    state = state_path(tmp_path)
    state.parent.mkdir()
    state.write_text('{"format_version": 1, "serial": 3, "lineage": "l-1", "resources": {}, "outputs": {}}\n')
    return tmp_path


def _files(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("command", LOCKING, ids=" ".join)
def test_lock_timeout_must_be_finite_and_not_negative(project: Path, command: tuple[str, ...], value: str) -> None:
    before = _files(project)
    with environ(cli_env(None)):
        result = main_in_process([*command, "--lock-timeout", value, "-C", str(project)])
    assert_clean_failure(result, "--lock-timeout", repr(value))
    assert _files(project) == before


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("command", (("apply", "--auto-approve"), ("destroy", "--auto-approve")), ids=" ".join)
def test_timeout_must_be_finite_and_not_negative(project: Path, command: tuple[str, ...], value: str) -> None:
    before = _files(project)
    with environ(cli_env(None)):
        result = main_in_process([*command, "--timeout", value, "-C", str(project)])
    assert_clean_failure(result, "--timeout", repr(value))
    assert _files(project) == before


@pytest.mark.parametrize("value", (".nan", ".inf", "-.inf", "-5", "1e400", "'nan'", "'-1m'", "'soon'", "0"))
def test_provider_timeout_in_the_config(project: Path, value: str) -> None:
    (project / "smstate.yaml").write_text(CONFIG % f", timeout: {value}")
    before = _files(project)
    with environ(cli_env(None)):
        result = main_in_process(["validate", "-C", str(project)])
    assert_clean_failure(result, "smstate.yaml:1: provider.timeout")
    assert _files(project) == before


@pytest.mark.parametrize("value", ("45m", "90", "1.5h", "500ms"))
def test_provider_timeout_takes_seconds_or_a_duration(project: Path, value: str) -> None:
    (project / "smstate.yaml").write_text(CONFIG % f", timeout: {value}")
    with environ(cli_env(None)):
        result = main_in_process(["validate", "-C", str(project)])
    assert result.code == 0, str(result)


def test_nan_lock_timeout_from_a_real_shell_does_not_wait(project: Path) -> None:
    """The reported case, as a user runs it: a held lock and `--lock-timeout nan` (which waited forever)."""
    lock = state_path(project).with_name("default.json.lock")
    lock.write_text('{"id": "x", "operation": "apply", "pid": 1, "host": "h", "user": "u", "time": "t"}')
    result = run_cli(["plan", "--lock-timeout", "nan"], project, cli_env(None), timeout=30)
    assert_clean_failure(result, "invalid --lock-timeout 'nan'")
    assert lock.exists()

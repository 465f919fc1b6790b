"""Crash consistency: SIGKILL `smstate apply` (and destroy) after its Nth API call, then run it again.

The kill comes from the proxy, right after it forwarded the Nth SageMaker call and before
smstate sees the answer: the server did the work, smstate never learned of it. Each round
walks A (a first apply, no statefile yet) -> B (replacements, updates, deletes) -> destroy,
killing each command once at a point spread over the range of its calls. After every kill:

- the statefile parses and its serial never went back;
- the lock the dead process held is refused with its ID, and `force-unlock ID` clears it;
- the same command run again exits 0;
- `plan --detailed-exitcode` exits 0 with "No changes.";
- the account holds no object tagged with this state's lineage that the state does not know
  (zero orphans, by List + ListTags), and no duplicates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from tests.e2e.helpers import assert_clean_failure

from .harness import Target, Workdir, check_converged, environ, run_killed, summary
from .proxy import FaultProxy

TRANSITIONS = (("A", "apply"), ("B", "apply"), ("A", "destroy"))
"""(config variant, command): one round. Each round starts without a statefile."""

ROUNDS = {"local": 4, "moto": 5}
"""The default run: 12 + 15 kill points, and 3 with the S3 backend. The slow variant runs 25 rounds on each."""


@dataclass
class Record:
    kills: int = 0
    points: list[tuple[str, int, int]] = field(default_factory=list)
    """(transition, N, calls the unkilled run needed)"""


def _fresh(work: Workdir) -> None:
    with environ(work.env):
        work.backend().delete()


def _calibrate(work: Workdir, proxy: FaultProxy) -> list[int]:
    """How many API calls each transition makes when nothing goes wrong."""
    calls = []
    for variant, command in TRANSITIONS:
        work.use(variant)
        proxy.reset_counts()
        result = work.run(*work.target.command(command))
        assert result.code == 0, str(result)
        calls.append(proxy.total)
        check_converged(work, -1, destroyed=command == "destroy")
    _fresh(work)
    return calls


def _points(calls: int, rounds: int, offset: int) -> list[int]:
    """`rounds` kill points spread over the first 90% of the calls (polls vary from run to run)."""
    span = max(1, int(calls * 0.9))
    step = span / rounds
    return [1 + int((r * step + offset * step / len(TRANSITIONS)) % span) for r in range(rounds)]


def _unlock(work: Workdir, first: bool) -> None:
    """A SIGKILLed command leaves its lock: refused by the next command, cleared by force-unlock ID."""
    with environ(work.env):
        holder = work.backend()._holder()  # type: ignore[attr-defined]
    assert holder is not None, "a killed command left no lock"
    held = holder.id
    if first:
        refused = work.run("plan")
        assert_clean_failure(refused, "locked", f"force-unlock {held}")
    unlocked = work.run_here("force-unlock", held)
    assert unlocked.code == 0, str(unlocked)


def crash(
    target: Target,
    base: Path,
    rounds: int,
    s3: tuple[str, str] | None = None,
    calls: list[int] | None = None,
    at: tuple[float, ...] | None = None,
) -> Record:
    """`rounds` rounds of kills; `calls` (per transition) skips measuring them first; `at`
    (one round) kills each transition after that share of its calls instead of spreading them."""
    record = Record()
    with FaultProxy(target.api_url) as proxy:
        work = Workdir.create(base / target.name, target, proxy.url, s3=s3)
        calls = calls or _calibrate(work, proxy)
        if at:
            plan = [[max(1, int(c * share))] for c, share in zip(calls, at)]
        else:
            plan = [_points(c, rounds, t) for t, c in enumerate(calls)]
        for r in range(rounds):
            for t, (variant, command) in enumerate(TRANSITIONS):
                work.use(variant)
                n = plan[t][r]
                before = work.serial()
                killed, result = run_killed(work, proxy, n, *target.command(command))
                where = f"{target.name} {command} {variant}, killed after call {n} of {calls[t]}"
                assert "Traceback" not in result.err, f"{where}\n{result}"
                if not killed:
                    assert result.code == 0, f"{where}: ended before the kill and failed\n{result}"
                else:
                    record.kills += 1
                    record.points.append((f"{command} {variant}", n, calls[t]))
                    after = work.state()
                    assert after is None or after.serial >= before, where
                    _unlock(work, first=record.kills == 1)
                again = work.run(*target.command(command))
                state = work.state()
                assert again.code == 0, f"{where}: the next {command} failed\n{again}\nstate: {state and summary(state)}"
                check_converged(work, max(before, after.serial if killed and after else -1), destroyed=command == "destroy")
            _fresh(work)
    return record


@pytest.mark.timeout(300)
def test_survives_sigkill_at_every_stage(target: Target, tmp_path: Path) -> None:
    started = time.monotonic()
    rounds = ROUNDS[target.name]
    record = crash(target, tmp_path, rounds)
    print(f"\n{target.name}: survived {record.kills} kill points in {time.monotonic() - started:.0f}s: {record.points}")
    assert record.kills == rounds * len(TRANSITIONS)


@pytest.mark.timeout(300)
def test_survives_sigkill_with_state_in_s3(moto_target: Target, tmp_path: Path) -> None:
    """The same with the S3 backend: the lock object a dead command left, conditional writes after it."""
    boto3.client("s3", endpoint_url=moto_target.api_url, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="team-state")  # fmt: skip
    record = crash(moto_target, tmp_path, rounds=1, s3=("team-state", "reliability/state.json"), calls=[46, 54, 45])
    print(f"\nmoto + s3 backend: survived {record.kills} kill points: {record.points}")
    assert record.kills == len(TRANSITIONS)


@pytest.mark.timeout(300)
def test_survives_sigkill_around_alarms_and_scaling_targets(moto_stack_target: Target, tmp_path: Path) -> None:
    """Alarms and scaling targets created, changed in place, and removed (a target deregistered
    with its policies before its endpoint is deleted): a kill converges on the next run, with no
    alarm, target or policy the state does not know. One kill per transition: late in the first
    apply (the endpoint and its target), mid-way through the changes, early in the destroy (the
    deregistration)."""
    record = crash(moto_stack_target, tmp_path, rounds=1, at=(0.7, 0.5, 0.3))
    print(f"\nmoto, alarms and scaling: survived {record.kills} kill points: {record.points}")
    assert record.kills == len(TRANSITIONS)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_survives_sigkill_around_alarms_and_scaling_targets_long(moto_stack_target: Target, tmp_path: Path) -> None:
    """The same, three rounds: kill points spread over each transition's calls."""
    record = crash(moto_stack_target, tmp_path, rounds=3)
    print(f"\nmoto, alarms and scaling: survived {record.kills} kill points: {record.points}")
    assert record.kills == 3 * len(TRANSITIONS)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_survives_sigkill_long(target: Target, tmp_path: Path) -> None:
    record = crash(target, tmp_path, rounds=25)
    print(f"\n{target.name}: survived {record.kills} kill points: {record.points}")
    assert record.kills == 25 * len(TRANSITIONS)

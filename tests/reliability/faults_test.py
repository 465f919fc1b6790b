"""Faults on the wire: a share of the API calls throttled, failed or reset, and an API gone for good.

The proxy answers 20% of the SageMaker calls itself (seeded): ThrottlingException, 500 and
503 without forwarding; 503 or a connection reset *after* forwarding (the server did the
work and the client must find that out); a reset before forwarding. It adds 0-20 ms to
every call. smstate relies on botocore's `standard` retry mode for all of it; a Create that
was retried after the server had already done it meets its own object and adopts it by
name and ownership tags.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from .harness import Target, Workdir, check_converged
from .proxy import Fault, FaultProxy, Faults

RATE = 0.2
STEPS = (("A", "apply"), ("B", "apply"), ("A", "destroy"))


def faulted_cycle(target: Target, base: Path, seed: int) -> Counter[str]:
    """A -> B -> destroy through a proxy faulting RATE of the calls; each step converges."""
    faults = Faults(rate=RATE, seed=seed, latency=(0.0, 0.02))
    seen: Counter[str] = Counter()
    with FaultProxy(target.api_url, faults) as proxy:
        work = Workdir.create(base / f"{target.name}-{seed}", target, proxy.url)
        for variant, command in STEPS:
            work.use(variant)
            before = work.serial()
            result = work.run(*target.command(command), timeout=300)
            assert result.code == 0, f"{command} {variant} with seed {seed}: {proxy.faulted()}\n{result}"
            assert "Traceback" not in result.err
            check_converged(work, before, destroyed=command == "destroy")
        seen["calls"] += proxy.total
        for fault, count in proxy.faulted().items():
            seen[fault.value] += count
    return seen


@pytest.mark.timeout(300)
def test_apply_and_destroy_complete_with_a_fifth_of_the_calls_faulted(target: Target, tmp_path: Path) -> None:
    seen = faulted_cycle(target, tmp_path, seed=7 if target.name == "local" else 11)
    faulted = sum(v for k, v in seen.items() if k != "calls")
    print(f"\n{target.name}: {faulted} of {seen['calls']} calls faulted and survived: {dict(seen)}")
    assert faulted >= 0.12 * seen["calls"]
    assert seen[Fault.RESET_AFTER.value] + seen[Fault.ERROR_503_AFTER.value] > 0


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("seed", range(100, 110))
def test_faulted_cycles_long(target: Target, tmp_path: Path, seed: int) -> None:
    seen = faulted_cycle(target, tmp_path, seed)
    print(f"\n{target.name} seed {seed}: {dict(seen)}")


@pytest.mark.timeout(120)
def test_api_gone_for_good_stops_with_one_clear_error(target: Target, tmp_path: Path) -> None:
    """The API vanishes mid-apply: smstate gives up within its retry budget with one Error line,
    its statefile holds what completed, and once the API is back the next apply converges."""
    with FaultProxy(target.api_url) as proxy:
        work = Workdir.create(tmp_path / target.name, target, proxy.url)
        text = work.dir.joinpath("smstate.yaml").read_text()
        work.dir.joinpath("smstate.yaml").write_text(text.replace("max_attempts: 8", "max_attempts: 3"))
        proxy.gone_after = 30  # in the middle of the endpoints' creation
        started = time.monotonic()
        result = work.run("apply", "--auto-approve", "--timeout", "20s", timeout=120)
        took = time.monotonic() - started
        port = int(proxy.url.rsplit(":", 1)[1])
    print(f"\n{target.name}: gave up after {took:.1f}s\n{result.err}")
    assert result.code == 1, str(result)
    assert "Traceback" not in result.out + result.err
    [error] = result.errors
    assert "the API cannot be reached" in error and "run apply again" in error
    assert took < 30
    assert not work.state_file.with_name(work.state_file.name + ".lock").exists()
    state = work.state()
    assert state is not None and state.resources, "what completed before the API went away is recorded"
    recorded = work.state_file.read_bytes()

    if target.name == "moto":  # (the local target would start a server of its own where the API was)
        refused = work.run("plan")
        assert refused.code == 1 and len(refused.errors) == 1, str(refused)
        assert "Traceback" not in refused.err
        assert work.state_file.read_bytes() == recorded

    with FaultProxy(target.api_url, port=port):
        healed = work.run("apply", "--auto-approve", timeout=120)
        assert healed.code == 0, str(healed)
        check_converged(work, state.serial)
        assert work.run(*target.command("destroy")).code == 0

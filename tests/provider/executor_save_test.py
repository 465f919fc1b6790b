"""Apply saves the state so that every finished operation is on disk when it is reported,
and operations that finish during a save share the next one (a group commit); operations
that others wait on are started first."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from smstate.apply import Executor, Operation
from smstate.backends.local import LocalBackend
from smstate.completion import completer
from smstate.pipeline import Inputs, build_plan, load, provider_for
from smstate.plan import Options
from smstate.provider import Progress
from smstate.state import State
from smstate.statekey import KeyedBackend

COUNT = 12


def config(count: int) -> str:
    lines = ["provider: {type: aws, region: us-east-1}", "models:"]
    lines += [f"  m{i}:\n    primary_container: {{image: 'img:1', model_data_url: 's3://b/m.tar.gz'}}" for i in range(count)]
    lines.append("endpoint_configs:")
    lines += [
        f"  c{i}:\n    production_variants: [{{variant_name: a, model_name: '${{models.m{i}.name}}', "
        "instance_type: ml.m5.large, initial_instance_count: 1}]"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


class Saved:
    """The sink apply writes through (the state layer's commit): a slow disk, and a record of each save."""

    def __init__(self, backend: KeyedBackend) -> None:
        self.backend = backend
        self.serials: list[int] = []

    def __call__(self, state: State) -> None:
        time.sleep(0.05)
        self.backend.commit(state)
        self.serials.append(state.serial)


class OnDisk:
    """Hooks that look at the statefile at the moment each operation is reported finished."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.missing: list[str] = []
        self.count = 0

    def started(self, op: Operation, verb: str) -> None:
        pass

    def progress(self, op: Operation, progress: Progress) -> None:
        pass

    def finished(self, op: Operation, error: str | None) -> None:
        assert error is None, error
        self.count += 1
        resources = json.loads(self.backend.path.read_text())["resources"]
        if str(op.change.address) not in resources:
            self.missing.append(str(op.change.address))


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    (tmp_path / "smstate.yaml").write_text(config(COUNT))
    with mock_aws():
        yield tmp_path


def test_every_finished_operation_is_on_disk_and_concurrent_ones_share_a_save(workdir: Path) -> None:
    loaded = load(Inputs(chdir=str(workdir)))
    keyed = loaded.workspace.backend(loaded.config)
    backend = keyed.inner
    assert isinstance(backend, LocalBackend)
    provider = provider_for(loaded)
    state = keyed.new_state()
    plan, refreshed = build_plan(loaded, provider, state, Options(), 10)
    assert len(plan.changes) == 2 * COUNT
    sink, hooks = Saved(keyed), OnDisk(backend)
    outcome = Executor(provider, refreshed, sink, completer(plan.desired, loaded.workspace.digest), hooks, parallelism=10).run(plan)

    assert outcome.errors == [] and outcome.added == 2 * COUNT and hooks.count == 2 * COUNT
    assert hooks.missing == []
    assert sink.serials == list(range(1, len(sink.serials) + 1))
    assert len(sink.serials) < 2 * COUNT, "operations that finished during a save were saved one by one"
    on_disk = backend.read()
    assert on_disk is not None and len(on_disk.resources) == 2 * COUNT
    backup = json.loads(backend.backup_path.read_text())
    assert backup["serial"] == on_disk.serial - 1


class Order(OnDisk):
    """Hooks that record the order in which operations start."""

    def __init__(self, backend: LocalBackend) -> None:
        super().__init__(backend)
        self.started_order: list[str] = []

    def started(self, op: Operation, verb: str) -> None:
        self.started_order.append(str(op.change.address))


def test_operations_others_wait_on_start_first(workdir: Path) -> None:
    """Models that configs wait on start before models nothing waits on, whatever their names."""
    lone = [f"  a{i}:\n    primary_container: {{image: 'img:1', model_data_url: 's3://b/a.tar.gz'}}" for i in range(3)]
    text = (workdir / "smstate.yaml").read_text().replace("models:\n", "models:\n" + "\n".join(lone) + "\n", 1)
    (workdir / "smstate.yaml").write_text(text)
    loaded = load(Inputs(chdir=str(workdir)))
    keyed = loaded.workspace.backend(loaded.config)
    backend = keyed.inner
    assert isinstance(backend, LocalBackend)
    provider = provider_for(loaded)
    plan, refreshed = build_plan(loaded, provider, keyed.new_state(), Options(), 1)
    hooks = Order(backend)
    outcome = Executor(provider, refreshed, keyed.commit, completer(plan.desired, loaded.workspace.digest), hooks, parallelism=1).run(plan)

    assert outcome.errors == [] and outcome.added == 2 * COUNT + 3
    order = hooks.started_order
    waited_on = [order.index(f"models.m{i}") for i in range(COUNT)]
    nobody_waits = [order.index(f"models.a{i}") for i in range(3)]
    assert max(waited_on) < min(nobody_waits), order

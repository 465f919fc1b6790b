"""The executor against an in-memory provider (no moto, no server): operations run in
dependency order, each result is on disk before the next operation that needs it starts,
a replaced object is created before the old one (kept as deposed meanwhile) is deleted,
and a failure starts nothing that depends on it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from smstate.apply import Executor, Operation
from smstate.completion import completer
from smstate.changes import Mode, Plan
from smstate.errors import ProviderError, UnreachableError
from smstate.outcome import Outcome
from smstate.pipeline import Inputs, Loaded, build_plan, load
from smstate.plan import Options
from smstate.provider import Created, Live, Progress, ProgressFn, Summary
from smstate.resources import Kind
from smstate.statekey import KeyedBackend

STACK = """provider: {type: aws, region: us-east-1}
models:
  m: {primary_container: {image: 'img:IMAGE', model_data_url: 's3://b/m.tar.gz'}}
endpoint_configs:
  c:
    production_variants:
      - {variant_name: a, model_name: '${models.m.name}', instance_type: ml.m5.large, initial_instance_count: 1}
endpoints:
  e: {endpoint_config_name: '${endpoint_configs.c.name}'}
"""


class FakeSageMaker:
    """SageMaker in a dict: objects by name, every call logged; `failures` maps a call
    ("CreateModel m-...") or a call prefix to the error it raises."""

    name = "fake"

    def __init__(self, disk: Path) -> None:
        self.objects: dict[str, tuple[Kind, dict[str, Any], dict[str, str]]] = {}
        self.calls: list[str] = []
        self.failures: dict[str, Exception] = {}
        self.on_disk_at: dict[str, dict[str, Any]] = {}
        """The statefile's resources at each call: what was durable when the call was made."""
        self.disk = disk
        self.requests: dict[str, dict[str, Any]] = {}
        """The request of each endpoint update."""
        self._lock = threading.Lock()

    def _call(self, what: str) -> None:
        with self._lock:
            self.calls.append(what)
            self.on_disk_at[what] = json.loads(self.disk.read_text())["resources"] if self.disk.exists() else {}
        for prefix, error in self.failures.items():
            if what.startswith(prefix):
                raise error

    def read(self, kind: Kind, object_id: str) -> Live | None:
        found = self.objects.get(object_id)
        if found is None:
            return None
        _, description, tags = found
        status = description.get("EndpointStatus")
        return Live(object_id, f"arn:{object_id}", dict(description), dict(tags), status=status)

    def create(self, kind: Kind, name: str | None, request: dict[str, Any], tags: dict[str, str]) -> Created:
        assert name is not None
        self._call(f"{kind.create} {name}")
        description = {**request, str(kind.name_member): name}
        if kind.type == "endpoints":
            description["EndpointStatus"] = "InService"
        self.objects[name] = (kind, description, dict(tags))
        return Created(name, f"arn:{name}")

    def update(self, kind: Kind, object_id: str, request: dict[str, Any]) -> None:
        if not kind.rollouts:
            self._call(f"{kind.update} {object_id}")
            self.objects[object_id][1].update(request)
            return
        what = f"Update {object_id} {request.get('EndpointConfigName')}"
        self._call(what)
        self.requests[what] = request
        self.objects[object_id][1]["EndpointConfigName"] = request["EndpointConfigName"]

    def set_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        tags = self.objects[arn.removeprefix("arn:")][2]
        tags.update(add)
        for key in remove:
            tags.pop(key, None)

    def delete(self, kind: Kind, object_id: str) -> None:
        self._call(f"{kind.delete} {object_id}")
        self.objects.pop(object_id, None)

    def wait(self, kind: Kind, object_id: str, until: str, timeout: float, progress: ProgressFn) -> Live | None:
        return self.read(kind, object_id)

    def find_packages(self, group: str) -> list[Live]:
        return []

    def list_ids(self, kind: Kind, name_prefix: str = "") -> list[tuple[str, str]]:
        return [(n, f"arn:{n}") for n, (k, _, _) in self.objects.items() if k.type == kind.type and n.startswith(name_prefix)]

    def tags_of(self, arn: str) -> dict[str, str]:
        return dict(self.objects[arn.removeprefix("arn:")][2])

    def tags_in_bulk(self, arns: list[str]) -> dict[str, dict[str, str]]:
        return {}

    def list_summaries(self, kind: Kind, created_after: str | None) -> dict[str, Summary]:
        return {}

    def check_network(self, subnets: list[str], security_groups: list[str]) -> list[str]:
        return []

    def names(self, prefix: str) -> list[str]:
        """The names of the live objects whose create call starts with `prefix` (CreateModel, ...)."""
        return sorted(n for n, (k, _, _) in self.objects.items() if k.create == prefix)


class Seen:
    """Hooks that record starts and ends, and what the statefile holds when each op ends."""

    def __init__(self, disk: Path) -> None:
        self.disk = disk
        self.events: list[str] = []
        self.errors: dict[str, str] = {}
        self.missing: list[str] = []

    def started(self, op: Operation, verb: str) -> None:
        self.events.append(f"start {op} {op.step.value}")

    def progress(self, op: Operation, progress: Progress) -> None:
        pass

    def finished(self, op: Operation, error: str | None) -> None:
        self.events.append(f"end {op} {op.step.value}")
        if error is not None:
            self.errors[str(op)] = error
            return
        resources = json.loads(self.disk.read_text())["resources"]
        recorded = resources.get(str(op))
        if recorded is None and op.step.value == "apply":
            self.missing.append(str(op))


class Run:
    """One project directory: plan and apply it through the fake provider, as the workflow does."""

    def __init__(self, tmp: Path, image: str = "1") -> None:
        self.dir = tmp
        self.write(image)
        loaded = self.load()
        self.backend: KeyedBackend = loaded.workspace.backend(loaded.config)
        self.disk = Path(self.backend.inner.target)  # type: ignore[attr-defined]
        self.cloud = FakeSageMaker(self.disk)
        self.serials: list[int] = []

    def write(self, image: str) -> None:
        (self.dir / "smstate.yaml").write_text(STACK.replace("IMAGE", image))

    def load(self) -> Loaded:
        return load(Inputs(chdir=str(self.dir)))

    def plan(self) -> tuple[Loaded, Plan, Any]:
        loaded = self.load()
        state = self.backend.read() or self.backend.new_state()
        plan, refreshed = build_plan(loaded, self.cloud, state, Options(), 4)
        return loaded, plan, refreshed

    def apply(self, parallelism: int = 4) -> tuple[Outcome, Seen]:
        loaded, plan, refreshed = self.plan()
        hooks = Seen(self.disk)

        def save(state: Any) -> None:
            self.backend.commit(state)
            self.serials.append(state.serial)

        outcome = Executor(self.cloud, refreshed, save, completer(plan.desired, loaded.workspace.digest), hooks, parallelism).run(plan)
        return outcome, hooks

    def recorded(self) -> dict[str, Any]:
        resources: dict[str, Any] = json.loads(self.disk.read_text())["resources"]
        return resources


@pytest.fixture()
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def test_operations_start_only_after_what_they_depend_on_ended(run: Run) -> None:
    outcome, hooks = run.apply(parallelism=8)

    assert outcome.errors == [] and outcome.added == 3
    events = hooks.events
    assert events.index("end models.m apply") < events.index("start endpoint_configs.c apply")
    assert events.index("end endpoint_configs.c apply") < events.index("start endpoints.e apply")
    assert [c.split()[0] for c in run.cloud.calls] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]


def test_each_result_is_on_disk_before_it_is_reported_and_before_its_users_start(run: Run) -> None:
    outcome, hooks = run.apply()

    assert outcome.errors == [] and hooks.missing == []
    # one save per model and config; two for the endpoint: "creating" before its wait, then ready
    assert run.serials == [1, 2, 3, 4], "each save the next serial"
    create_config = next(c for c in run.cloud.calls if c.startswith("CreateEndpointConfig"))
    assert "models.m" in run.cloud.on_disk_at[create_config]
    create_endpoint = next(c for c in run.cloud.calls if c.startswith("CreateEndpoint "))
    assert {"models.m", "endpoint_configs.c"} <= set(run.cloud.on_disk_at[create_endpoint])
    assert json.loads(run.disk.read_text())["serial"] == 4
    assert run.recorded()["endpoints.e"]["status"] == "ready"


def test_a_replaced_object_is_created_first_and_deposed_until_deleted(run: Run) -> None:
    run.apply()
    [old_model], [old_config] = run.cloud.names("CreateModel"), run.cloud.names("CreateEndpointConfig")
    run.write("2")
    run.cloud.calls.clear()
    outcome, _ = run.apply()

    assert outcome.errors == [] and (outcome.added, outcome.changed, outcome.destroyed) == (2, 1, 2)
    calls = run.cloud.calls
    new_model = next(n for n in run.cloud.names("CreateModel") if n != old_model)
    new_config = next(n for n in run.cloud.names("CreateEndpointConfig") if n != old_config)
    assert calls.index(f"CreateModel {new_model}") < calls.index(f"DeleteModel {old_model}")
    update = f"Update e {new_config}"
    assert calls.index(f"CreateEndpointConfig {new_config}") < calls.index(update) < calls.index(f"DeleteEndpointConfig {old_config}")
    assert calls.index(f"DeleteEndpointConfig {old_config}") < calls.index(f"DeleteModel {old_model}")
    deposed_then = run.cloud.on_disk_at[f"DeleteModel {old_model}"]["models.m"]
    assert deposed_then["physical_name"] == new_model
    assert [d["physical_name"] for d in deposed_then.get("deposed", [])] == [old_model]
    assert all(not r.get("deposed") for r in run.recorded().values())
    assert sorted(run.cloud.objects) == sorted(["e", new_model, new_config])


def test_a_deposed_object_left_by_a_failed_delete_is_deleted_by_the_next_apply(run: Run) -> None:
    run.apply()
    [old_model] = run.cloud.names("CreateModel")
    run.write("2")
    run.cloud.failures[f"DeleteModel {old_model}"] = ProviderError("ThrottlingException: slow down")
    outcome, hooks = run.apply()

    assert any("slow down" in e for e in outcome.errors)
    assert [d["physical_name"] for d in run.recorded()["models.m"]["deposed"]] == [old_model]
    run.cloud.failures.clear()
    _, plan, _ = run.plan()
    assert [(str(c.address), c.deposed is not None) for c in plan.changes] == [("models.m", True)]
    outcome, _ = run.apply()
    assert outcome.errors == [] and outcome.destroyed == 1
    assert old_model not in run.cloud.objects and "deposed" not in json.dumps(run.recorded()["models.m"])


def test_a_failed_create_starts_nothing_that_depends_on_it(run: Run) -> None:
    run.cloud.failures["CreateModel"] = ProviderError("ValidationException: bad image")
    outcome, hooks = run.apply()

    assert any("bad image" in e for e in outcome.errors)
    assert [c.split()[0] for c in run.cloud.calls] == ["CreateModel"]
    assert hooks.errors["endpoint_configs.c"].startswith("skipped")
    assert hooks.errors["endpoints.e"].startswith("skipped")
    assert not run.disk.exists() or run.recorded() == {}


def test_an_unreachable_api_starts_no_new_operation(tmp_path: Path) -> None:
    run = Run(tmp_path)
    text = STACK.split("endpoint_configs:")[0] + "  n: {primary_container: {image: 'img:9', model_data_url: 's3://b/n.tar.gz'}}\n"
    (tmp_path / "smstate.yaml").write_text(text)
    run.cloud.failures["CreateModel"] = UnreachableError("cannot reach the API: connection refused")
    outcome, hooks = run.apply(parallelism=1)

    assert len(run.cloud.calls) == 1, run.cloud.calls
    assert any("cannot be reached" in e or "connection refused" in e for e in outcome.errors), outcome.errors
    assert len(hooks.events) == 2, "the second model never started"


SCALED = STACK + """alarms:
  errors:
    namespace: AWS/SageMaker
    metric_name: Invocation5XXErrors
    dimensions: [{name: EndpointName, value: '${endpoints.e.name}'}]
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 1
    comparison_operator: GreaterThanOrEqualToThreshold
scaling:
  e:
    target: {endpoint: '${endpoints.e.name}', variant: a}
    min_capacity: 1
    max_capacity: 4
"""
TARGET = "endpoint/e/variant/a|sagemaker:variant:DesiredInstanceCount"


@pytest.fixture()
def scaled(tmp_path: Path) -> Run:
    run = Run(tmp_path)
    run.write = lambda text: (tmp_path / "smstate.yaml").write_text(text)  # type: ignore[method-assign]
    run.write(SCALED)
    outcome, _ = run.apply()
    assert outcome.errors == [] and outcome.added == 5
    run.cloud.calls.clear()
    return run


def test_an_alarm_named_in_the_endpoint_rollback_is_created_first_and_the_target_once_the_endpoint_is_up(tmp_path: Path) -> None:
    run = Run(tmp_path)
    (tmp_path / "smstate.yaml").write_text(
        SCALED.replace("endpoints:\n  e: {endpoint_config_name: '${endpoint_configs.c.name}'}",
                       "endpoints:\n  e:\n    endpoint_config_name: '${endpoint_configs.c.name}'\n"
                       "    deployment_config: {auto_rollback_configuration: {alarms: [{alarm_name: '${alarms.errors.name}'}]}}")
    )
    outcome, _ = run.apply(parallelism=1)

    assert outcome.errors == []
    calls = [c.split()[0] for c in run.cloud.calls]
    assert calls.index("PutMetricAlarm") < calls.index("CreateEndpoint") < calls.index("RegisterScalableTarget")


def test_an_instance_type_change_deregisters_the_target_updates_and_registers_it_again(scaled: Run) -> None:
    scaled.write(SCALED.replace("ml.m5.large", "ml.c5.xlarge"))
    _, plan, _ = scaled.plan()
    [target] = [c for c in plan.changes if str(c.address) == "scaling.e"]
    assert "changes the instance_type of variant a (ml.m5.large -> ml.c5.xlarge)" in target.reason
    outcome, _ = scaled.apply()

    assert outcome.errors == []
    calls = scaled.cloud.calls
    [update] = [c for c in calls if c.startswith("Update e ")]
    assert calls.index(f"DeregisterScalableTarget {TARGET}") < calls.index(update) < calls.index(f"RegisterScalableTarget {TARGET}")
    assert scaled.recorded()["scaling.e"]["physical_name"] == TARGET
    _, again, _ = scaled.plan()
    assert again.changes == []


def test_removing_a_scaled_variant_deregisters_the_target_first(scaled: Run) -> None:
    text = SCALED.replace("variant_name: a,", "variant_name: b,").split("scaling:")[0]
    scaled.write(text)
    outcome, _ = scaled.apply()

    assert outcome.errors == []
    calls = scaled.cloud.calls
    [update] = [c for c in calls if c.startswith("Update e ")]
    assert calls.index(f"DeregisterScalableTarget {TARGET}") < calls.index(update)
    assert "scaling.e" not in scaled.recorded() and TARGET not in scaled.cloud.objects


def test_every_other_update_of_a_scaled_endpoint_keeps_the_scaled_counts(scaled: Run) -> None:
    scaled.write(SCALED.replace("initial_instance_count: 1", "initial_instance_count: 2"))
    outcome, _ = scaled.apply()

    assert outcome.errors == []
    [update] = [c for c in scaled.cloud.calls if c.startswith("Update e ")]
    assert scaled.cloud.requests[update]["RetainAllVariantProperties"] is True
    assert not any(c.startswith("DeregisterScalableTarget") for c in scaled.cloud.calls)


def test_the_config_s_own_retain_setting_wins(scaled: Run) -> None:
    text = SCALED.replace("initial_instance_count: 1", "initial_instance_count: 2").replace(
        "e: {endpoint_config_name: '${endpoint_configs.c.name}'}",
        "e: {endpoint_config_name: '${endpoint_configs.c.name}', retain_all_variant_properties: false}",
    )
    scaled.write(text)
    outcome, _ = scaled.apply()

    assert outcome.errors == []
    [update] = [c for c in scaled.cloud.calls if c.startswith("Update e ")]
    assert scaled.cloud.requests[update]["RetainAllVariantProperties"] is False


def test_destroy_deregisters_the_target_before_deleting_the_endpoint(scaled: Run) -> None:
    loaded = scaled.load()
    state = scaled.backend.read()
    plan, refreshed = build_plan(loaded, scaled.cloud, state, Options(mode=Mode.DESTROY), 4)
    outcome = Executor(scaled.cloud, refreshed, scaled.backend.commit, completer(plan.desired, loaded.workspace.digest), Seen(scaled.disk), 4).run(plan)

    assert outcome.errors == []
    calls = scaled.cloud.calls
    assert calls.index(f"DeregisterScalableTarget {TARGET}") < calls.index("DeleteEndpoint e")
    assert scaled.cloud.objects == {}


@pytest.mark.parametrize("failing", ["DeregisterScalableTarget", "Update e", "RegisterScalableTarget"])
def test_a_failure_at_any_step_of_the_sequence_converges_on_the_next_apply(scaled: Run, failing: str) -> None:
    scaled.write(SCALED.replace("ml.m5.large", "ml.c5.xlarge"))
    scaled.cloud.failures[failing] = ProviderError("ThrottlingException: slow down")
    outcome, _ = scaled.apply()

    assert any("slow down" in e for e in outcome.errors)
    if failing == "DeregisterScalableTarget":
        assert not any(c.startswith("Update e") for c in scaled.cloud.calls), "no update while the target is registered"
    assert (TARGET in scaled.cloud.objects) == ("scaling.e" in scaled.recorded())
    scaled.cloud.failures.clear()
    scaled.cloud.calls.clear()
    outcome, _ = scaled.apply()

    assert outcome.errors == []
    calls = scaled.cloud.calls
    updates = [c for c in calls if c.startswith("Update e ")]
    assert updates == [] or calls.index(updates[0]) < calls.index(f"RegisterScalableTarget {TARGET}")
    assert calls.count(f"RegisterScalableTarget {TARGET}") == 1
    assert scaled.cloud.objects["e"][1]["EndpointConfigName"] == scaled.recorded()["endpoint_configs.c"]["physical_name"]
    _, again, _ = scaled.plan()
    assert again.changes == []

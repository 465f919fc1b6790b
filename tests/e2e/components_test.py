"""Inference components driven by `smstate` against the local SageMaker.

moto has no inference components, so the boto3 provider's path is tested here, against
the local server, as the endpoint rollout tests are: the CLI runs as a subprocess, while
client threads invoke the components the way production traffic would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import Result, assert_clean_failure, cli_env, read_state, run_cli
from tests.local.server_harness import BROKEN_CODE, ServerProcess, clients, model_tar

TIME_SCALE = "0.02"

CONFIG = """\
provider: {{type: local, url: "{url}"}}
models:
  first:
    primary_container: {{image: local/echo, model_data_url: ./models/{first}.tar.gz, environment: {{SAGEMAKER_PROGRAM: inference.py}}}}
  second:
    primary_container: {{image: local/echo, model_data_url: ./models/second.tar.gz, environment: {{SAGEMAKER_PROGRAM: inference.py}}}}
endpoint_configs:
  {name}:
    execution_role_arn: arn:aws:iam::000000000000:role/local
    production_variants:
      - variant_name: main
        instance_type: ml.m5.large
        initial_instance_count: 1
        managed_instance_scaling: {{status: ENABLED, min_instance_count: 1, max_instance_count: 2}}
        routing_config: {{routing_strategy: LEAST_OUTSTANDING_REQUESTS}}
endpoints:
  {name}:
    endpoint_config_name: ${{endpoint_configs.{name}.name}}
    tags: {{tier: shared}}
inference_components:
  {name}-first:
    endpoint_name: ${{endpoints.{name}.name}}
    variant_name: main
    specification:
      model_name: ${{models.first.name}}
      compute_resource_requirements: {{number_of_cpu_cores_required: 0.5, min_memory_required_in_mb: 512}}
    runtime_config: {{copy_count: {copies}}}
    deployment_config:
      rolling_update_policy:
        maximum_batch_size: {{type: COPY_COUNT, value: 1}}
        wait_interval_in_seconds: 50
    tags: {{team: nlp}}
  {name}-second:
    endpoint_name: ${{endpoints.{name}.name}}
    variant_name: main
    specification:
      model_name: ${{models.second.name}}
      compute_resource_requirements: {{number_of_cpu_cores_required: 0.5, min_memory_required_in_mb: 512}}
    runtime_config: {{copy_count: 1}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("components") / "home", SMSTATE_LOCAL_TIME_SCALE=TIME_SCALE).start()
    yield proc
    proc.close()


@dataclass
class Project:
    """An endpoint `name` with the components `name-first` and `name-second`, in a tmp dir."""

    dir: Path
    server: ServerProcess
    name: str
    env: dict[str, str] = field(default_factory=lambda: cli_env(None))

    def write(self, first: str = "v1", copies: int = 1, code: str | None = None) -> None:
        for label, body in ((first, code), ("second", None)):
            if not (self.dir / "models" / f"{label}.tar.gz").exists():
                model_tar(self.dir / "models", label, **({"code": body} if body else {}))
        text = CONFIG.format(url=self.server.url, name=self.name, first=first, copies=copies)
        self.dir.joinpath("smstate.yaml").write_text(text)

    def run(self, *args: str) -> Result:
        return run_cli(args, self.dir, self.env, timeout=180)

    def invoke(self, component: str) -> str:
        result = self.run("invoke", self.name, "--inference-component", f"{self.name}-{component}", "--body", "1")
        assert result.code == 0, str(result)
        return str(json.loads(result.out)["label"])

    def resource(self, address: str) -> dict[str, Any]:
        found: dict[str, Any] = read_state(self.dir)["resources"][address]
        return found


def applied(tmp_path: Path, server: ServerProcess, name: str) -> Project:
    project = Project(tmp_path, server, name)
    project.write()
    result = project.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    return project


class Load:
    """One client thread per component invoking it in a loop; every answer and error kept."""

    def __init__(self, url: str, endpoint: str, components: list[str]) -> None:
        self.runtime = clients(url)[1]
        self.endpoint = endpoint
        self.labels: dict[str, list[str]] = {c: [] for c in components}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._invoke, args=(c,), daemon=True) for c in components]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _invoke(self, component: str) -> None:
        for _ in range(100_000):  # bounded: the rollout ends long before
            if self._stop.is_set():
                return
            try:
                response = self.runtime.invoke_endpoint(
                    EndpointName=self.endpoint, InferenceComponentName=component, Body=b"1", ContentType="application/json"
                )
                self.labels[component].append(str(json.loads(response["Body"].read())["label"]))
            except ClientError as exc:
                self.errors.append(f"{component}: {exc}")


def test_two_components_answer_scale_and_are_destroyed_before_their_endpoint(tmp_path: Path, server: ServerProcess) -> None:
    project = applied(tmp_path, server, "duo")
    assert project.invoke("first") == "v1"
    assert project.invoke("second") == "second"
    assert "No changes." in project.run("plan").out
    sagemaker = clients(server.url)[0]
    counts = []
    for copies in (3, 1):
        project.write(copies=copies)
        result = project.run("apply", "--auto-approve")
        assert result.code == 0, str(result)
        assert "runtime_config.copy_count" in result.out
        described = sagemaker.describe_inference_component(InferenceComponentName="duo-first")
        counts.append(described["RuntimeConfig"]["CurrentCopyCount"])
        status = json.loads(project.run("rollout", "status", "duo", "--json").out)
        shown = {c["name"]: (c["copies"], c["desired_copies"]) for c in status["components"]}
        assert shown == {"duo-first": (copies, copies), "duo-second": (1, 1)}
        assert "No changes." in project.run("plan").out
    assert counts == [3, 1]
    text = project.run("rollout", "status", "duo").out
    assert "duo-first: InService, 1/1 copies" in text
    result = project.run("destroy", "--auto-approve")
    assert result.code == 0, str(result)
    lines = result.out.splitlines() + result.err.splitlines()
    endpoint_gone = next(i for i, line in enumerate(lines) if line.startswith("endpoints.duo: Destroying"))
    for component in ("duo-first", "duo-second"):
        done = next(i for i, line in enumerate(lines) if line.startswith(f"inference_components.{component}: Destruction complete"))
        assert done < endpoint_gone
    assert sagemaker.list_inference_components(EndpointNameEquals="duo")["InferenceComponents"] == []
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName="duo")


def test_a_new_model_rolls_one_component_while_both_keep_serving(tmp_path: Path, server: ServerProcess) -> None:
    project = applied(tmp_path, server, "roll")
    project.write(copies=2)
    assert project.run("apply", "--auto-approve").code == 0
    old_model = project.resource("models.first")["physical_name"]
    project.write(first="v2", copies=2)
    with Load(server.url, "roll", ["roll-first", "roll-second"]) as load:
        result = project.run("apply", "--auto-approve")
    assert result.code == 0, str(result)
    assert load.errors == []
    first, second = load.labels["roll-first"], load.labels["roll-second"]
    assert first[0] == "v1" and first[-1] == "v2"
    assert set(second) == {"second"} and len(second) > 10
    sagemaker = clients(server.url)[0]
    described = sagemaker.describe_inference_component(InferenceComponentName="roll-first")
    assert described["Specification"]["ModelName"] == project.resource("models.first")["physical_name"] != old_model
    with pytest.raises(ClientError):
        sagemaker.describe_model(ModelName=old_model)  # deleted once no component used it
    assert "No changes." in project.run("plan").out
    assert project.run("destroy", "--auto-approve").code == 0


def test_a_model_that_cannot_load_rolls_back_and_apply_says_so(tmp_path: Path, server: ServerProcess) -> None:
    project = applied(tmp_path, server, "back")
    old_model = project.resource("models.first")["physical_name"]
    project.write(first="broken", code=BROKEN_CODE)
    result = project.run("apply", "--auto-approve")
    assert_clean_failure(result, "inference_components.back-first", "rolled it back", "cannot load this model")
    recorded = project.resource("inference_components.back-first")
    assert recorded["spec"]["specification"]["model_name"] == old_model
    assert recorded["attributes"]["specification"]["model_name"] == old_model
    assert project.invoke("first") == "v1"
    clients(server.url)[0].describe_model(ModelName=old_model)  # kept: the component still uses it
    again = project.run("plan")
    assert "inference_components.back-first will be updated in place" in again.out
    project.write()
    assert project.run("apply", "--auto-approve").code == 0
    assert project.run("destroy", "--auto-approve").code == 0


def test_refusals(tmp_path: Path, server: ServerProcess) -> None:
    project = Project(tmp_path, server, "bad")
    project.write()
    text = project.dir.joinpath("smstate.yaml").read_text()
    project.dir.joinpath("smstate.yaml").write_text(text.replace("runtime_config: {copy_count: 1}", "runtime_config: {copies: 1}", 1))
    assert_clean_failure(project.run("plan"), "runtime_config.copies: unknown field", "copy_count: field required", errors=2)
    project.write(copies=9)  # 9 copies of half a core: more than two ml.m5.large hold
    result = project.run("apply", "--auto-approve")
    assert_clean_failure(result, "inference_components.bad-first", "Insufficient capacity")
    assert "inference_components.bad-first" not in read_state(project.dir)["resources"]
    assert project.invoke("second") == "second"
    project.write(first="broken", code=BROKEN_CODE)  # a new component whose model cannot load
    result = project.run("apply", "--auto-approve")
    assert_clean_failure(result, "inference_components.bad-first: inference component bad-first is Failed", "cannot load this model")
    assert project.resource("inference_components.bad-first")["status"] == "tainted"
    assert "tainted" in project.run("plan").out
    assert project.run("destroy", "--auto-approve").code == 0

"""An inference component scaled by Application Auto Scaling, driven by `smstate` against the
local SageMaker (moto has no inference components): apply, a clean re-plan while scaling owns
the copy count, copies following a bounded load up and back down as `rollout status` shows,
and a destroy that deregisters the target before the component and the component before
the endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import Result, cli_env, read_state, run_cli
from tests.local.server_harness import ServerProcess, clients, model_tar, wait_for

TIME_SCALE = "0.01"
RESOURCE = "inference-component/scaled-c"

CONFIG = """\
provider: {{type: local, url: "{url}"}}
models:
  m:
    primary_container: {{image: local/echo, model_data_url: ./models/v1.tar.gz, environment: {{SAGEMAKER_PROGRAM: inference.py}}}}
endpoint_configs:
  scaled:
    execution_role_arn: arn:aws:iam::000000000000:role/local
    production_variants:
      - {{variant_name: main, instance_type: ml.m5.xlarge, initial_instance_count: 1}}
endpoints:
  scaled:
    endpoint_config_name: ${{endpoint_configs.scaled.name}}
inference_components:
  scaled-c:
    endpoint_name: ${{endpoints.scaled.name}}
    variant_name: main
    specification:
      model_name: ${{models.m.name}}
      compute_resource_requirements: {{number_of_cpu_cores_required: 0.5, min_memory_required_in_mb: 512}}
    runtime_config: {{copy_count: 1}}
    lifecycle: {{ignore_changes: [runtime_config.copy_count]}}
scaling:
  scaled-c:
    target: {{inference_component: "${{inference_components.scaled-c.name}}"}}
    min_capacity: 1
    max_capacity: 3
    policies:
      per-copy:
        policy_type: TargetTrackingScaling
        target_tracking_scaling_policy_configuration:
          target_value: 20
          predefined_metric_specification: {{predefined_metric_type: SageMakerInferenceComponentInvocationsPerCopy}}
          scale_out_cooldown: 60
          scale_in_cooldown: 60
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("component-scaling") / "home", SMSTATE_LOCAL_TIME_SCALE=TIME_SCALE)
    proc.start()
    yield proc
    proc.close()


def run(directory: Path, *args: str) -> Result:
    return run_cli(args, directory, cli_env(None), timeout=180)


def copies(directory: Path) -> tuple[int, int]:
    """(current, desired) copies of the component, as `smstate rollout status --json` shows them."""
    result = run(directory, "rollout", "status", "scaled", "--json")
    assert result.code == 0, str(result)
    [shown] = json.loads(result.out)["components"]
    return shown["copies"], shown["desired_copies"]



def load(runtime: Any, deadline: float) -> int:
    """Invoke the component until `deadline` (a bounded client loop); the answers counted."""
    answered = 0
    while time.monotonic() < deadline:
        runtime.invoke_endpoint(EndpointName="scaled", InferenceComponentName="scaled-c", Body=b"1",
                                ContentType="application/json")  # fmt: skip
        answered += 1
    return answered


def test_copy_count_scaling_applies_follows_load_and_is_destroyed_first(tmp_path: Path, server: ServerProcess) -> None:
    model_tar(tmp_path / "models", "v1")
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url))
    applied = run(tmp_path, "apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    assert "No changes." in run(tmp_path, "plan").out
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    autoscaling = session.client("application-autoscaling", endpoint_url=server.url)
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    recorded = read_state(tmp_path)["resources"]["scaling.scaled-c"]["physical_name"]
    assert recorded == f"{RESOURCE}|sagemaker:inference-component:DesiredCopyCount"
    assert copies(tmp_path) == (1, 1)

    runtime = clients(server.url)[1]
    with ThreadPoolExecutor(4) as pool:
        deadline = time.monotonic() + 25
        answered = [pool.submit(load, runtime, deadline) for _ in range(4)]
        wait_for(lambda: copies(tmp_path)[0] >= 2, "a scale-out under load", timeout=15, every=0.3)
        status = json.loads(run(tmp_path, "rollout", "status", "scaled", "--json").out)
        [watched] = status["watched"]
        assert watched["address"] == "scaling.scaled-c" and (watched["min_capacity"], watched["max_capacity"]) == (1, 3)
        assert watched["desired_capacity"] >= 2 and "AlarmHigh" in watched["last_activity"]["cause"]
        assert "No changes." in run(tmp_path, "plan").out  # scaling owns the copy count
        owned = "    lifecycle: {ignore_changes: [runtime_config.copy_count]}\n"
        (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url).replace(owned, ""))
        assert "runtime_config.copy_count" in run(tmp_path, "plan").out  # without it, apply would reset the count
        (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=server.url))
    assert sum(f.result() for f in answered) > 0
    wait_for(lambda: copies(tmp_path) == (1, 1), "the scale-in after the load", timeout=60, every=0.3)
    shown = run(tmp_path, "rollout", "status", "scaled").out
    assert "scaled-c: InService, 1/1 copies" in shown and "scaling.scaled-c" in shown

    destroyed = run(tmp_path, "destroy", "--auto-approve")
    assert destroyed.code == 0, str(destroyed)
    lines = destroyed.out.splitlines() + destroyed.err.splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    assert first("scaling.scaled-c: Destruction complete") < first("inference_components.scaled-c: Destroying")
    assert first("inference_components.scaled-c: Destruction complete") < first("endpoints.scaled: Destroying")
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])["ScalableTargets"] == []
    with pytest.raises(ClientError):
        clients(server.url)[0].describe_endpoint(EndpointName="scaled")

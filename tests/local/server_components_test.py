"""Inference components on the local SageMaker, driven through boto3 as a user would.

One server hosts a component-based endpoint (a config with no model, an execution
role, managed instance scaling and least-outstanding-requests routing) and the
components under test. Each test makes components of its own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.server_harness import BROKEN_CODE, ServerProcess, clients, create_model, invoke_label, model_tar, settle

ROLE = "arn:aws:iam::000000000000:role/local"
SMALL = {"NumberOfCpuCoresRequired": 0.5, "MinMemoryRequiredInMb": 1024}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    root = tmp_path_factory.mktemp("components")
    server = ServerProcess(root / "home").start()
    sm, rt = clients(server.url)
    models = root / "models"
    for label in ("alpha", "beta", "gamma"):
        create_model(sm, label, model_tar(models, label))
    create_model(sm, "broken", model_tar(models, "broken", BROKEN_CODE))
    create_model(sm, "plain", model_tar(models, "plain"))
    # one ml.m5.large: 2 vCPUs, 8 GiB; managed scaling may add one more
    sm.create_endpoint_config(
        EndpointConfigName="shared",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "main",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName="shared", EndpointConfigName="shared")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="shared", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    try:
        yield sm, rt, models
    finally:
        server.close()



def component(sm: Any, name: str, model: str, copies: int = 1, compute: dict[str, Any] = SMALL) -> dict[str, Any]:
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName="shared",
        VariantName="main",
        Specification={"ModelName": model, "ComputeResourceRequirements": compute},
        RuntimeConfig={"CopyCount": copies},
    )
    return settle(sm, name)


def remove(sm: Any, *names: str) -> None:
    for name in names:
        sm.delete_inference_component(InferenceComponentName=name)
    for name in names:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sm.describe_inference_component(InferenceComponentName=name)
            except ClientError:
                break
            time.sleep(0.05)


def ask(rt: Any, name: str, endpoint: str = "shared") -> str:
    response = rt.invoke_endpoint(
        EndpointName=endpoint, InferenceComponentName=name, Body=json.dumps(1), ContentType="application/json"
    )
    return str(json.loads(response["Body"].read())["label"])


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_two_components_answer_each_by_name(local: tuple[Any, Any, Path]) -> None:
    sm, rt, _ = local
    assert component(sm, "ic-a", "alpha")["InferenceComponentStatus"] == "InService"
    described = component(sm, "ic-b", "beta", copies=2)
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert described["Specification"]["ModelName"] == "beta"
    assert {ask(rt, "ic-a") for _ in range(5)} == {"alpha"}
    assert {ask(rt, "ic-b") for _ in range(5)} == {"beta"}
    listed = sm.list_inference_components(EndpointNameEquals="shared")["InferenceComponents"]
    assert {"ic-a", "ic-b"} <= {c["InferenceComponentName"] for c in listed}
    code, message = error_of(rt.invoke_endpoint, EndpointName="shared", Body=b"1", ContentType="application/json")
    assert code == "ValidationError" and "Inference Component Name header is required" in message
    remove(sm, "ic-a", "ic-b")


def test_copy_count_scales_and_managed_scaling_adds_an_instance(local: tuple[Any, Any, Path]) -> None:
    sm, rt, _ = local
    compute = {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024}
    component(sm, "ic-scale", "gamma", copies=1, compute=compute)
    counts = []
    for copies in (3, 1):
        sm.update_inference_component_runtime_config(InferenceComponentName="ic-scale", DesiredRuntimeConfig={"CopyCount": copies})
        described = settle(sm, "ic-scale")
        instances = sm.describe_endpoint(EndpointName="shared")["ProductionVariants"][0]["CurrentInstanceCount"]
        counts.append((described["RuntimeConfig"]["CurrentCopyCount"], instances))
        assert ask(rt, "ic-scale") == "gamma"
    # 3 copies of 1 core need a second 2-vCPU instance; 1 copy gives it back
    assert counts == [(3, 2), (1, 1)]
    code, message = error_of(
        sm.update_inference_component_runtime_config, InferenceComponentName="ic-scale", DesiredRuntimeConfig={"CopyCount": 5}
    )
    assert code == "ValidationException" and "Insufficient capacity" in message
    assert settle(sm, "ic-scale")["RuntimeConfig"]["DesiredCopyCount"] == 1
    remove(sm, "ic-scale")


def test_rolling_update_keeps_serving_and_the_neighbour_untouched(local: tuple[Any, Any, Path]) -> None:
    sm, rt, _ = local
    component(sm, "ic-roll", "alpha", copies=2)
    component(sm, "ic-next", "beta")
    seen: dict[str, list[str]] = {"ic-roll": [], "ic-next": []}
    errors: list[Exception] = []
    stop = threading.Event()

    def traffic(name: str) -> None:
        for _ in range(5000):
            if stop.is_set():
                return
            try:
                seen[name].append(ask(rt, name))
            except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
                errors.append(exc)

    threads = [threading.Thread(target=traffic, args=(n,)) for n in seen]
    for thread in threads:
        thread.start()
    sm.update_inference_component(
        InferenceComponentName="ic-roll",
        Specification={"ModelName": "gamma", "ComputeResourceRequirements": SMALL},
        DeploymentConfig={
            "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1}, "WaitIntervalInSeconds": 50}
        },
    )
    described = settle(sm, "ic-roll")
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert described["InferenceComponentStatus"] == "InService" and "FailureReason" not in described
    assert described["Specification"]["ModelName"] == "gamma"
    assert described["LastDeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"]["Value"] == 1
    assert seen["ic-roll"][0] == "alpha" and seen["ic-roll"][-1] == "gamma"
    assert set(seen["ic-next"]) == {"beta"}
    remove(sm, "ic-roll", "ic-next")


def test_a_new_model_that_cannot_load_rolls_back(local: tuple[Any, Any, Path]) -> None:
    sm, rt, _ = local
    component(sm, "ic-back", "alpha", copies=2)
    sm.update_inference_component(
        InferenceComponentName="ic-back",
        Specification={"ModelName": "broken", "ComputeResourceRequirements": SMALL},
        DeploymentConfig={
            "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1}, "WaitIntervalInSeconds": 10}
        },
    )
    described = settle(sm, "ic-back")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["Specification"]["ModelName"] == "alpha"
    assert "rolled back" in described["FailureReason"] and "cannot load this model" in described["FailureReason"]
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 2
    assert ask(rt, "ic-back") == "alpha"
    remove(sm, "ic-back")


def test_refusals(local: tuple[Any, Any, Path]) -> None:
    sm, rt, _ = local
    # a model-based endpoint takes no components
    sm.create_endpoint_config(
        EndpointConfigName="plain",
        ProductionVariants=[{"VariantName": "p", "ModelName": "plain", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )
    sm.create_endpoint(EndpointName="plain", EndpointConfigName="plain")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="plain", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    spec = {"ModelName": "alpha", "ComputeResourceRequirements": SMALL}
    create = sm.create_inference_component
    code, message = error_of(create, InferenceComponentName="x", EndpointName="plain", Specification=spec, RuntimeConfig={"CopyCount": 1})
    assert code == "ValidationException" and "not compatible with inference components" in message
    code, message = error_of(
        create, InferenceComponentName="x", EndpointName="shared",
        Specification={**spec, "ModelName": "nope"}, RuntimeConfig={"CopyCount": 1},
    )  # fmt: skip
    assert code == "ValidationException" and "Could not find model" in message
    code, message = error_of(
        create, InferenceComponentName="x", EndpointName="shared",
        Specification={"ModelName": "alpha", "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 3, "MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1},
    )  # fmt: skip
    assert code == "ValidationException" and "Insufficient capacity" in message
    code, message = error_of(sm.create_endpoint_config, EndpointConfigName="norole",
                             ProductionVariants=[{"VariantName": "v", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])  # fmt: skip
    assert code == "ValidationException" and "ExecutionRoleArn" in message
    with pytest.raises(ClientError):
        sm.describe_inference_component(InferenceComponentName="x")
    code, message = error_of(
        rt.invoke_endpoint, EndpointName="shared", InferenceComponentName="nope", Body=b"1", ContentType="application/json"
    )
    assert code == "ValidationError" and "nope" in message


def test_a_component_has_tags_of_its_own(local: tuple[Any, Any, Path]) -> None:
    sm, _, _ = local
    sm.create_inference_component(
        InferenceComponentName="ic-tags", EndpointName="shared",
        Specification={"ModelName": "alpha", "ComputeResourceRequirements": SMALL}, RuntimeConfig={"CopyCount": 1},
        Tags=[{"Key": "team", "Value": "nlp"}],
    )  # fmt: skip
    arn = settle(sm, "ic-tags")["InferenceComponentArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "prod"}])
    assert {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]} == {"team": "nlp", "stage": "prod"}
    endpoint_arn = sm.describe_endpoint(EndpointName="shared")["EndpointArn"]
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == []
    remove(sm, "ic-tags")
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == []  # the endpoint is still known by its ARN


def test_an_endpoint_with_components_is_not_deleted_before_them(local: tuple[Any, Any, Path]) -> None:
    sm, _, _ = local
    component(sm, "ic-hold", "alpha")
    code, message = error_of(sm.delete_endpoint, EndpointName="shared")
    assert code == "ValidationException" and "ic-hold" in message
    assert sm.describe_endpoint(EndpointName="shared")["EndpointStatus"] == "InService"
    remove(sm, "ic-hold")


def test_a_component_with_its_own_container(local: tuple[Any, Any, Path]) -> None:
    sm, rt, models = local
    sm.create_inference_component(
        InferenceComponentName="ic-own",
        EndpointName="shared",
        Specification={
            "Container": {
                "Image": "local/echo",
                "ArtifactUrl": str(model_tar(models, "own")),
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            },
            "ComputeResourceRequirements": SMALL,
        },
        RuntimeConfig={"CopyCount": 1},
    )
    described = settle(sm, "ic-own")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["VariantName"] == "main"  # the endpoint's only variant
    assert described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == "local/echo"
    assert ask(rt, "ic-own") == "own"
    remove(sm, "ic-own")


def test_components_are_hosted_again_after_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()
    try:
        sm, rt = clients(server.url)
        create_model(sm, "kept", model_tar(tmp_path / "models", "kept"))
        sm.create_endpoint_config(
            EndpointConfigName="again",
            ExecutionRoleArn=ROLE,
            ProductionVariants=[{"VariantName": "main", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
        )
        sm.create_endpoint(EndpointName="again", EndpointConfigName="again")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="again", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
        sm.create_inference_component(
            InferenceComponentName="ic-kept", EndpointName="again",
            Specification={"ModelName": "kept", "ComputeResourceRequirements": SMALL}, RuntimeConfig={"CopyCount": 2},
        )  # fmt: skip
        settle(sm, "ic-kept")
        assert server.terminate() == 0
        server = ServerProcess(tmp_path / "home", port=server.port).start()
        sm, rt = clients(server.url)
        described = settle(sm, "ic-kept")
        assert described["InferenceComponentStatus"] == "InService"
        assert described["RuntimeConfig"]["CurrentCopyCount"] == 2
        assert ask(rt, "ic-kept", endpoint="again") == "kept"
    finally:
        server.close()


#: Answers with the pid of the copy that served; "slow" requests hold their copy for a while.
PID_CODE = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    if data == "slow":
        time.sleep(3)
    return {"label": str(os.getpid())}
'''


def test_least_outstanding_requests_avoids_the_busy_copy(local: tuple[Any, Any, Path]) -> None:
    sm, rt, models = local
    create_model(sm, "pids", model_tar(models, "pids", PID_CODE))
    component(sm, "ic-lor", "pids", copies=2)
    pids = {ask(rt, "ic-lor") for _ in range(20)}
    assert len(pids) == 2  # both copies serve
    slow: list[str] = []

    def hold() -> None:
        response = rt.invoke_endpoint(EndpointName="shared", InferenceComponentName="ic-lor", Body=json.dumps("slow"),
                                      ContentType="application/json")  # fmt: skip
        slow.append(json.loads(response["Body"].read())["label"])

    holder = threading.Thread(target=hold)
    holder.start()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len({ask(rt, "ic-lor") for _ in range(8)}) != 1:
        pass  # until the slow request is in flight on one copy
    answered = [ask(rt, "ic-lor") for _ in range(10)]
    holder.join(30)
    assert slow and slow[0] not in answered and len(set(answered)) == 1
    remove(sm, "ic-lor")

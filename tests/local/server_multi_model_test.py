"""Multi-model endpoints on the local server, driven with boto3 as on AWS:
`TargetModel` loads `<ModelDataUrl prefix>/<TargetModel>` on first use, at most
`SMSTATE_LOCAL_MAX_LOADED_MODELS` stay loaded, and the least recently used one
is unloaded to make room; the refusals are sagemaker-runtime's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import cli_env, run_cli
from tests.local.modes_harness import BUCKET, bucket, moto_url, start_server  # noqa: F401
from tests.local.server_harness import ServerProcess, clients, deploy, model_tar, wait_in_service

#: sagemaker-runtime's refusal of a multi-model request without TargetModel (with the request id).
MISSING_TARGET = r"Request [0-9a-f-]{36} is missing a target model header\."

#: Appends its label to $LOAD_LOG on every load and answers how often it was loaded.
COUNTING_CODE = '''
import os

def model_fn(model_dir):
    label = open(os.path.join(model_dir, "label.txt")).read().strip()
    with open(os.environ["LOAD_LOG"], "a") as log:
        log.write(label + "\\n")
    return label

def predict_fn(data, model):
    loads = open(os.environ["LOAD_LOG"]).read().split().count(model)
    return {"label": model, "loads": loads}
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[ServerProcess]:  # noqa: F811
    home = tmp_path_factory.mktemp("mme") / "home"
    yield from start_server(home, moto_url, SMSTATE_LOCAL_MAX_LOADED_MODELS="2")


@pytest.fixture(scope="module")
def sm_rt(server: ServerProcess) -> tuple[Any, Any]:
    return clients(server.url)


def create_mme(sm: Any, name: str, prefix: str, load_log: Path) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "local/mme",
            "Mode": "MultiModel",
            "ModelDataUrl": prefix,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "LOAD_LOG": str(load_log)},
        },
        ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "all", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait_in_service(sm, name)


def ask(rt: Any, endpoint: str, target: str) -> dict[str, Any]:
    response = rt.invoke_endpoint(
        EndpointName=endpoint, Body=b"[1]", ContentType="application/json", TargetModel=target
    )
    return dict(json.loads(response["Body"].read()))


def test_target_models_load_on_first_use_and_the_least_recently_used_is_unloaded(
    sm_rt: tuple[Any, Any], tmp_path: Path
) -> None:
    sm, rt = sm_rt
    models = tmp_path / "models"
    for label in ("a", "b", "c"):
        model_tar(models, label, COUNTING_CODE)
    create_mme(sm, "mme-local", str(models), tmp_path / "loads.log")

    assert ask(rt, "mme-local", "a.tar.gz") == {"label": "a", "loads": 1}
    assert ask(rt, "mme-local", "a.tar.gz") == {"label": "a", "loads": 1}  # still loaded
    assert ask(rt, "mme-local", "b.tar.gz") == {"label": "b", "loads": 1}
    assert ask(rt, "mme-local", "c.tar.gz") == {"label": "c", "loads": 1}  # two at most: unloads a
    assert ask(rt, "mme-local", "b.tar.gz") == {"label": "b", "loads": 1}  # b stayed; now c is oldest
    assert ask(rt, "mme-local", "a.tar.gz") == {"label": "a", "loads": 2}  # loaded again; unloads c
    assert ask(rt, "mme-local", "b.tar.gz") == {"label": "b", "loads": 1}
    assert ask(rt, "mme-local", "c.tar.gz") == {"label": "c", "loads": 2}


def test_a_file_url_prefix_is_accepted_as_a_local_extension(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    model_tar(tmp_path / "models", "local", COUNTING_CODE)
    create_mme(sm, "mme-file", (tmp_path / "models").as_uri() + "/", tmp_path / "loads.log")
    assert ask(rt, "mme-file", "local.tar.gz") == {"label": "local", "loads": 1}
    with pytest.raises(ClientError) as missing:
        ask(rt, "mme-file", "absent.tar.gz")
    assert missing.value.response["Error"]["Message"].startswith(
        f"Failed to download model data(path: {(tmp_path / 'models').as_uri()}/absent.tar.gz)."
    )


def test_target_models_load_from_an_s3_prefix(sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path) -> None:
    sm, rt = sm_rt
    for label in ("x", "y"):
        bucket.upload_file(str(model_tar(tmp_path, label, COUNTING_CODE)), BUCKET, f"mme/{label}.tar.gz")
    create_mme(sm, "mme-s3", f"s3://{BUCKET}/mme/", tmp_path / "loads.log")

    assert ask(rt, "mme-s3", "x.tar.gz") == {"label": "x", "loads": 1}
    assert ask(rt, "mme-s3", "y.tar.gz") == {"label": "y", "loads": 1}
    with pytest.raises(ClientError) as missing:
        ask(rt, "mme-s3", "absent.tar.gz")
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert missing.value.response["Error"]["Message"].startswith(
        f"Failed to download model data(bucket: {BUCKET}, key: mme/absent.tar.gz). "
        "Please ensure that there is an object located at the URL"
    )


def test_a_multi_model_endpoint_refuses_a_request_without_a_target_model(
    sm_rt: tuple[Any, Any], tmp_path: Path
) -> None:
    sm, rt = sm_rt
    model_tar(tmp_path / "models", "a", COUNTING_CODE)
    create_mme(sm, "mme-untargeted", str(tmp_path / "models"), tmp_path / "loads.log")
    with pytest.raises(ClientError) as refused:
        rt.invoke_endpoint(EndpointName="mme-untargeted", Body=b"[1]", ContentType="application/json")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    # AWS: "Request <request id> is missing a target model header." (InvokeEndpoint without TargetModel)
    assert re.fullmatch(MISSING_TARGET, refused.value.response["Error"]["Message"])
    assert ask(rt, "mme-untargeted", "a.tar.gz")["label"] == "a"


def test_a_single_model_endpoint_refuses_a_target_model(sm_rt: tuple[Any, Any], tmp_path: Path) -> None:
    sm, rt = sm_rt
    deploy(sm, "single", model_tar(tmp_path, "single"))
    with pytest.raises(ClientError) as refused:
        ask(rt, "single", "a.tar.gz")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    # AWS: "Endpoint <name> is not a multi-model endpoint and does not support target model header."
    assert refused.value.response["Error"]["Message"] == (
        "Endpoint single is not a multi-model endpoint and does not support target model header."
    )


def test_smstate_invoke_names_the_target_model(
    server: ServerProcess, sm_rt: tuple[Any, Any], tmp_path: Path
) -> None:
    sm, _ = sm_rt
    model_tar(tmp_path / "models", "cli", COUNTING_CODE)
    create_mme(sm, "mme-cli", str(tmp_path / "models"), tmp_path / "loads.log")
    (tmp_path / "smstate.yaml").write_text(f'provider: {{type: local, url: "{server.url}"}}\n')
    env = cli_env(None)
    result = run_cli(["invoke", "mme-cli", "--target-model", "cli.tar.gz", "--body", "[1]"], tmp_path, env)
    assert result.code == 0, str(result)
    assert json.loads(result.out) == {"label": "cli", "loads": 1}
    refused = run_cli(["invoke", "mme-cli", "--target-model", "absent.tar.gz", "--body", "[1]"], tmp_path, env)
    assert refused.code == 1
    assert refused.err.startswith("Error: ") and "Failed to download model data" in refused.err
    assert len(refused.err.strip().splitlines()) == 1


def test_a_response_stream_from_a_multi_model_endpoint_lacks_its_target_model(
    sm_rt: tuple[Any, Any], tmp_path: Path
) -> None:
    sm, rt = sm_rt
    model_tar(tmp_path / "models", "a", COUNTING_CODE)
    create_mme(sm, "mme-stream", str(tmp_path / "models"), tmp_path / "loads.log")
    with pytest.raises(ClientError) as refused:  # InvokeEndpointWithResponseStream has no TargetModel
        rt.invoke_endpoint_with_response_stream(EndpointName="mme-stream", Body=b"[1]", ContentType="application/json")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert re.fullmatch(MISSING_TARGET, refused.value.response["Error"]["Message"])


def test_an_empty_s3_prefix_is_accepted_and_models_added_later_are_served(
    sm_rt: tuple[Any, Any], bucket: Any, tmp_path: Path
) -> None:
    sm, rt = sm_rt  # as on SageMaker, where a multi-model endpoint is often created before its first model
    create_mme(sm, "mme-later", f"s3://{BUCKET}/mme-later/", tmp_path / "loads.log")
    bucket.upload_file(str(model_tar(tmp_path, "later", COUNTING_CODE)), BUCKET, "mme-later/later.tar.gz")
    assert ask(rt, "mme-later", "later.tar.gz") == {"label": "later", "loads": 1}

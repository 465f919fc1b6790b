"""Two providers in two regions in one config, on a moto server (which keeps regions apart)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from .conftest import ROLE, Aws, Project

CONFIG = """
provider: {type: aws, region: us-east-1}
providers:
  eu: {type: aws, region: eu-west-1}
models:
  home:
    execution_role_arn: %(role)s
    primary_container: {image: "img:1", model_data_url: "s3://b/m.tar.gz"}
  abroad:
    provider: eu
    execution_role_arn: %(role)s
    primary_container: {image: "img:1", model_data_url: "s3://b/m.tar.gz"}
endpoint_configs:
  abroad:
    provider: eu
    production_variants:
      - {variant_name: a, model_name: "${models.abroad.name}", instance_type: ml.m5.large, initial_instance_count: 1}
""" % {"role": ROLE}


def _models(aws: Aws, region: str) -> list[str]:
    client = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region).client(
        "sagemaker", endpoint_url=aws.url
    )
    return sorted(m["ModelName"].rsplit("-", 1)[0] for m in client.list_models()["Models"])


def _project(tmp_path: Path, aws: Aws, text: str) -> Project:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "smstate.yaml").write_text(text)
    var_file = tmp_path / "vars.json"
    var_file.write_text("{}")
    return Project(directory, var_file, aws.env)


def test_two_providers_in_two_regions_each_hold_their_objects(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, CONFIG)
    applied = project.apply()
    assert applied.code == 0, str(applied)
    assert _models(aws, "us-east-1") == ["home"]
    assert _models(aws, "eu-west-1") == ["abroad"]
    assert aws.endpoint_config_names() == []
    resources = project.state()["resources"]
    assert {a: r.get("provider") for a, r in resources.items()} == {
        "models.home": None, "models.abroad": "eu", "endpoint_configs.abroad": "eu",
    }
    again = project.plan("--detailed-exitcode")
    assert again.code == 0, str(again)

    project.config.write_text(CONFIG.replace("  abroad:\n    provider: eu\n", "  abroad:\n    provider: eu\n    tags: {team: risk}\n", 1))
    plan = json.loads(project.plan("--json").out)
    assert [(c["address"], c["action"]) for c in plan["changes"]] == [("models.abroad", "update")]
    assert project.destroy().code == 0
    assert _models(aws, "us-east-1") == [] and _models(aws, "eu-west-1") == []


def test_an_undeclared_provider_name_is_a_config_error(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, CONFIG.replace("provider: eu\n    execution", "provider: asia\n    execution"))
    result = project.plan()
    assert result.code == 1
    assert result.errors == ["Error: smstate.yaml:10: models.abroad.provider: no provider named 'asia' is declared under providers:"], str(result)

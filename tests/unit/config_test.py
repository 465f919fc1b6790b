"""Config loading and validation: every problem located by file, line and key path."""

from __future__ import annotations

import pytest

from smstate import config as config_mod
from smstate import variables
from smstate.errors import ConfigError
from smstate.evaluate import evaluate

MODEL = """\
models:
  churn:
    execution_role_arn: arn:aws:iam::123456789012:role/r
    primary_container:
      image: img:1
      model_data_url: s3://bucket/model.tar.gz
"""


def problems(text: str, files: list[tuple[str, str]] | None = None, cli: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config = config_mod.load(files or [("smstate.yaml", text)])
        values = variables.resolve(config, cli or {}, [], {})
        evaluate(config, values, {}, lambda url: None)
    return [str(d) for d in info.value.diagnostics]


def test_a_valid_config_loads() -> None:
    config = config_mod.load([("smstate.yaml", MODEL)])
    result = evaluate(config, {}, {}, lambda url: None)
    assert [str(a) for a in result.desired] == ["models.churn"]


def test_unknown_field_names_file_line_path_and_suggests() -> None:
    text = MODEL.replace("image: img:1", "imagee: img:1")
    found = problems(text)
    assert "smstate.yaml:5: models.churn.primary_container.imagee: unknown field (did you mean 'image'?)" in found


def test_wrong_type_and_enum_and_range_are_reported_together() -> None:
    text = MODEL + """\
endpoint_configs:
  c:
    production_variants:
      - variant_name: a
        model_name: ${models.churn.name}
        instance_type: ml.nope
        initial_instance_count: two
"""
    found = problems(text)
    assert any(p.startswith("smstate.yaml:12: endpoint_configs.c.production_variants[0].instance_type: must be one of") for p in found)
    assert "smstate.yaml:13: endpoint_configs.c.production_variants[0].initial_instance_count: expected an integer, got a string" in found


def test_yaml_syntax_error_has_a_line() -> None:
    assert problems("models:\n  a: [1\n")[0].startswith("smstate.yaml:3: invalid YAML")


def test_same_address_in_two_files_is_an_error() -> None:
    found = problems("", [("smstate.yaml", MODEL), ("more.smstate.yaml", MODEL)])
    assert found == ["more.smstate.yaml:2: models.churn: declared twice"]


def test_unknown_section_and_unknown_provider_key() -> None:
    found = problems("modles: {}\nprovider: {type: gcp}\n")
    assert "smstate.yaml:1: modles: unknown section" in found
    assert any(p.startswith("smstate.yaml:2: provider.type:") for p in found)


def test_missing_variables_are_all_reported_at_once() -> None:
    text = "variables:\n  a: {}\n  b: {description: x}\n  c: {default: 1}\n"
    found = problems(text)
    assert len(found) == 2 and "variables.a" in found[0] and "variables.b" in found[1]


def test_undeclared_reference_and_cycle() -> None:
    text = MODEL.replace("img:1", "${models.other.name}")
    assert any("reference to undeclared resource models.other" in p for p in problems(text))
    cycle = """\
endpoint_configs:
  a:
    production_variants: [{variant_name: v, model_name: "${endpoint_configs.b.name}", instance_type: ml.m5.large, initial_instance_count: 1}]
  b:
    production_variants: [{variant_name: v, model_name: "${endpoint_configs.a.name}", instance_type: ml.m5.large, initial_instance_count: 1}]
"""
    found = problems(cycle)
    assert len(found) == 1 and "dependency cycle" in found[0]
    assert "endpoint_configs.a" in found[0] and "endpoint_configs.b" in found[0]


def test_missing_local_artifact() -> None:
    text = MODEL.replace("s3://bucket/model.tar.gz", "./build/model.tar.gz")
    assert any("model artifact not found" in p and ":6:" in p for p in problems(text))


def test_references_keep_types() -> None:
    text = """\
variables:
  count: {default: 3}
  env: {default: {A: "1"}}
vpc_configs:
  private: {subnets: [subnet-1], security_group_ids: [sg-1]}
""" + MODEL.replace("model_data_url: s3://bucket/model.tar.gz", "model_data_url: s3://bucket/model.tar.gz\n      environment: ${var.env}") + """\
    vpc_config: ${vpc_configs.private}
endpoint_configs:
  c:
    production_variants:
      - {variant_name: "v-${var.count}", model_name: "${models.churn.name}", instance_type: ml.m5.large, initial_instance_count: "${var.count}"}
"""
    config = config_mod.load([("smstate.yaml", text)])
    values = variables.resolve(config, {}, [], {})
    result = evaluate(config, values, {}, lambda url: None)
    model = result.desired[next(a for a in result.desired if a.type == "models")]
    assert model.spec["primary_container"]["environment"] == {"A": "1"}
    assert model.spec["vpc_config"] == {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]}
    config_spec = result.desired[next(a for a in result.desired if a.type == "endpoint_configs")].spec
    assert config_spec["production_variants"][0]["initial_instance_count"] == 3
    assert config_spec["production_variants"][0]["variant_name"] == "v-3"


def test_arn_is_unknown_until_applied() -> None:
    text = MODEL + "outputs:\n  arn: ${models.churn.arn}\n  name: ${models.churn.name}\n"
    config = config_mod.load([("smstate.yaml", text)])
    result = evaluate(config, {}, {}, lambda url: None)
    assert str(result.outputs["arn"]) == "(known after apply)"
    assert result.outputs["name"].startswith("churn-")


def test_cli_variable_typed_by_declaration() -> None:
    config = config_mod.load([("smstate.yaml", "variables:\n  n: {type: number}\n  s: {}\n")])
    assert variables.resolve(config, {"n": "2", "s": "2"}, [], {}) == {"n": 2, "s": "2"}
    with pytest.raises(ConfigError):
        variables.resolve(config, {"n": "x", "s": "y"}, [], {})


def test_s3_endpoint_url_is_a_url_or_local_and_only_for_the_local_target() -> None:
    assert config_mod.ProviderSettings(s3_endpoint_url="local").s3_endpoint_url == "local"
    loaded = config_mod.load([("smstate.yaml", 'provider: {type: local, s3_endpoint_url: "http://127.0.0.1:9000"}\n')])
    assert loaded.provider.s3_endpoint_url == "http://127.0.0.1:9000"
    assert any("provider.s3_endpoint_url" in p for p in problems("provider: {type: local, s3_endpoint_url: minio}\n"))
    refused = problems('provider: {type: aws, s3_endpoint_url: "http://127.0.0.1:9000"}\n')
    assert any("is for the local target" in p for p in refused)

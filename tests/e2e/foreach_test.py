"""for_each, modules and moved blocks end to end on a moto server, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import ROLE, Aws, Project

MODELS = """
provider: {type: aws, region: us-east-1}
variables:
  models: {type: map}
models:
  m:
    for_each: ${var.models}
    execution_role_arn: %s
    primary_container: {image: "${each.value.image}", model_data_url: "s3://b/${each.key}.tar.gz"}
outputs:
  churn_model: ${models.m["churn"].name}
""" % ROLE

THREE = {"churn": {"image": "img:1"}, "fraud": {"image": "img:2"}, "upsell": {"image": "img:3"}}


def _project(tmp_path: Path, aws: Aws, text: str, variables: dict[str, object]) -> Project:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "smstate.yaml").write_text(text)
    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps(variables))
    return Project(directory, var_file, aws.env)


def test_for_each_over_three_keys_applies_replans_clean_and_removing_a_key_destroys_only_it(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, MODELS, {"models": THREE})
    first = project.apply()
    assert first.code == 0, str(first)
    names = aws.model_names()
    assert [n.rsplit("-", 1)[0] for n in names] == ["m-churn", "m-fraud", "m-upsell"]
    state = project.state()
    assert sorted(state["resources"]) == ['models.m["churn"]', 'models.m["fraud"]', 'models.m["upsell"]']
    assert state["outputs"]["churn_model"] == names[0]
    tags = aws.sagemaker.list_tags(ResourceArn=state["resources"]['models.m["churn"]']["arn"])["Tags"]
    assert {"Key": "smstate:address", "Value": "models.m/churn"} in tags  # tag values allow no quotes or brackets
    again = project.plan("--detailed-exitcode")
    assert again.code == 0, str(again)
    assert "No changes." in again.out

    project.var_file.write_text(json.dumps({"models": {k: v for k, v in THREE.items() if k != "fraud"}}))
    plan = project.plan("--json")
    changes = json.loads(plan.out)["changes"]
    assert [(c["address"], c["action"]) for c in changes] == [('models.m["fraud"]', "delete")]
    assert project.apply().code == 0
    assert aws.model_names() == [names[0], names[2]]


def test_a_moved_entry_re_addresses_the_object_without_replacing_it(tmp_path: Path, aws: Aws) -> None:
    single = MODELS.replace("    for_each: ${var.models}\n", "").replace("${each.value.image}", "img:1")
    single = single.replace("${each.key}", "churn").replace('${models.m["churn"].name}', "${models.m.name}")
    project = _project(tmp_path, aws, single, {"models": {}})
    assert project.apply().code == 0, "apply"
    before = aws.model_names()
    project.config.write_text(MODELS + "moved:\n  - {from: models.m, to: 'models.m[\"churn\"]'}\n")
    project.var_file.write_text(json.dumps({"models": {"churn": {"image": "img:1"}}}))
    plan = project.plan("--detailed-exitcode")
    assert plan.code == 0, str(plan)
    assert 'models.m -> models.m["churn"]' in plan.err + plan.out
    applied = project.apply()
    assert applied.code == 0, str(applied)
    assert list(project.state()["resources"]) == ['models.m["churn"]']
    assert aws.model_names() == before


def test_without_a_moved_entry_a_renamed_key_is_a_replacement(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, MODELS.split("outputs:")[0], {"models": {"churn": {"image": "img:1"}}})
    assert project.apply().code == 0
    project.var_file.write_text(json.dumps({"models": {"churn2": {"image": "img:1"}}}))
    plan = json.loads(project.plan("--json").out)
    assert sorted((c["address"], c["action"]) for c in plan["changes"]) == [
        ('models.m["churn"]', "delete"), ('models.m["churn2"]', "create"),
    ]


ENDPOINT_MODULE = """
variables:
  image: {}
  instance_type: {default: ml.m5.large}
models:
  main:
    execution_role_arn: %s
    primary_container: {image: "${var.image}", model_data_url: "s3://b/model.tar.gz"}
endpoint_configs:
  main:
    production_variants:
      - {variant_name: a, model_name: "${models.main.name}", instance_type: "${var.instance_type}", initial_instance_count: 1}
endpoints:
  main:
    endpoint_config_name: ${endpoint_configs.main.name}
outputs:
  endpoint: ${endpoints.main.name}
""" % ROLE

TWICE = """
provider: {type: aws, region: us-east-1}
modules:
  checkout:
    source: ./modules/realtime
    inputs: {image: "img:1"}
  search:
    source: ./modules/realtime
    inputs: {image: "img:2", instance_type: ml.c5.large}
outputs:
  checkout: ${module.checkout.endpoint}
  search: ${module.search.endpoint}
"""


def test_a_module_used_twice_with_different_inputs(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, TWICE, {})
    module = project.dir / "modules" / "realtime"
    module.mkdir(parents=True)
    (module / "smstate.yaml").write_text(ENDPOINT_MODULE)
    applied = project.apply()
    assert applied.code == 0, str(applied)
    assert aws.endpoint_names() == ["checkout-main", "search-main"]
    assert project.state()["outputs"] == {"checkout": "checkout-main", "search": "search-main"}
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=aws.sagemaker.describe_endpoint(EndpointName="search-main")["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.large"
    model = aws.sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["Image"] == "img:2"
    assert sorted(project.state()["resources"])[:3] == [
        "module.checkout.endpoint_configs.main", "module.checkout.endpoints.main", "module.checkout.models.main",
    ]
    assert project.plan("--detailed-exitcode").code == 0


def test_an_error_inside_a_module_names_its_file_line_and_key(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, TWICE, {})
    module = project.dir / "modules" / "realtime"
    module.mkdir(parents=True)
    (module / "smstate.yaml").write_text(ENDPOINT_MODULE.replace("instance_type: \"${var.instance_type}\"", "instance_typo: x"))
    result = project.plan()
    assert result.code == 1
    assert "Error: modules/realtime/smstate.yaml:12: module.checkout.endpoint_configs.main.production_variants[0].instance_typo: unknown field" in result.err, str(result)
    assert "Traceback" not in result.err


def test_commands_take_instance_addresses(tmp_path: Path, aws: Aws) -> None:
    project = _project(tmp_path, aws, MODELS, {"models": THREE})
    assert project.apply().code == 0
    listed = project.run("state", "list")
    assert listed.out.split() == ['models.m["churn"]', 'models.m["fraud"]', 'models.m["upsell"]']
    shown = json.loads(project.run("state", "show", 'models.m["fraud"]').out)
    assert shown["physical_name"].startswith("m-fraud-")
    fraud = shown["physical_name"]

    aws.sagemaker.add_tags(ResourceArn=shown["arn"], Tags=[{"Key": "team", "Value": "hand"}])
    drift = project.run("drift", "--var-file", str(project.var_file), "--format", "json", "--target", "models.m")
    assert drift.code == 2, str(drift)
    assert [d["address"] for d in json.loads(drift.out)["drift"]] == ['models.m["fraud"]']
    targeted = json.loads(project.plan("--json", "--target", 'models.m["fraud"]').out)
    assert [(c["address"], c["action"]) for c in targeted["changes"]] == [('models.m["fraud"]', "update")]

    removed = project.run("state", "rm", 'models.m["fraud"]')
    assert removed.code == 0, str(removed)
    assert 'models.m["fraud"]' not in project.state()["resources"]
    imported = project.run("import", "--var-file", str(project.var_file), 'models.m["fraud"]', fraud)
    assert imported.code == 0, str(imported)
    assert project.state()["resources"]['models.m["fraud"]']["physical_name"] == fraud
    bad = project.run("state", "show", "models.m[fraud]")
    assert bad.code == 1 and bad.errors[0].startswith("Error: invalid address 'models.m[fraud]'"), str(bad)


def test_a_data_source_reads_an_object_by_name(tmp_path: Path, aws: Aws) -> None:
    aws.sagemaker.create_model(
        ModelName="hand-made", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:hand", "ModelDataUrl": "s3://b/h.tar.gz"}
    )
    config = MODELS.split("outputs:")[0].replace("${each.value.image}", "${data.models.base.primary_container.image}")
    config += "data:\n  models:\n    base: {name: hand-made}\n"
    project = _project(tmp_path, aws, config, {"models": {"churn": {}}})
    plan = json.loads(project.plan("--json").out)
    assert [c["after"]["primary_container"]["image"] for c in plan["changes"]] == ["img:hand"]
    (tmp_path / "other").mkdir()
    missing = _project(tmp_path / "other", aws, config.replace("name: hand-made", "name: nothing"), {"models": {"churn": {}}})
    result = missing.plan()
    assert result.errors == ["Error: data.models.base: 'nothing' does not exist"], str(result)


def test_the_schema_accepts_the_multi_env_example(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    from .helpers import REPO, cli_env, run_cli

    schema = json.loads(run_cli(["schema"], tmp_path, cli_env(None)).out)
    example = REPO / "examples" / "multi-env"
    jsonschema.validate(yaml.safe_load((example / "smstate.yaml").read_text()), schema)
    assert "model_approval_status" in json.dumps(schema["properties"]["data"]["properties"]["model_packages"])
    with_typo = {"modules": {"a": {"source": ".", "input": {}}}}
    try:
        jsonschema.validate(with_typo, schema)
    except jsonschema.ValidationError as exc:
        assert "input" in exc.message
    else:
        raise AssertionError("a module block with an unknown key was accepted")

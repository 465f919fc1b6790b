"""`smstate import` end to end: an account smstate did not create, taken under management.

The account is built by hand with boto3 — a model, a two-container inference pipeline,
their endpoint configs and endpoints, a model package group — on a moto server and on the
local target (whose DescribeModel fills `Mode: SingleModel` and `Environment: {}` as AWS
does). `--generate-config` must write a config that plans clean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .helpers import assert_clean_failure, state_path
from .targets import ADDRESS_TAG, LINEAGE_TAG, ROLE, Target, Workdir, target  # noqa: F401  (fixture)


def build_account(t: Target) -> None:
    """What a team made by hand before adopting smstate."""
    sm = t.sm
    t.hand_model("churn", label="churn", tags={"team": "risk"})
    # the local server also takes a plain path as an artifact, which a config turns into a file:// URL
    post = t.artifact("post").removeprefix("file://")
    sm.create_model(
        ModelName="pipe",
        ExecutionRoleArn=ROLE,
        Containers=[
            {"Image": t.image, "ModelDataUrl": t.artifact("pre")},
            {"Image": t.image, "ModelDataUrl": post, "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
        ],
    )
    t.hand_config("churn-config", "churn", count=2)
    t.hand_config("pipe-config", "pipe")
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-config", Tags=[{"Key": "team", "Value": "risk"}])
    sm.create_endpoint(EndpointName="pipe", EndpointConfigName="pipe-config")
    sm.create_model_package_group(ModelPackageGroupName="churn-models", ModelPackageGroupDescription="Churn classifiers")
    for endpoint in ("churn", "pipe"):
        assert t.settle(endpoint)["EndpointStatus"] == "InService"


def empty_dir(tmp_path: Path, t: Target, body: str = "") -> Workdir:
    """A config directory whose smstate.yaml says only where the account is (plus `body`)."""
    return Workdir.make(tmp_path / "adopt", t, t.provider_block() + body)


def test_generate_config_writes_references_and_plans_clean(tmp_path: Path, target: Target) -> None:  # noqa: F811
    build_account(target)
    work = empty_dir(tmp_path, target)

    result = work.run("import", "--generate-config", "imported.smstate.yaml")

    assert result.code == 0, str(result)
    assert "Wrote" in result.out and "7 resources" in result.out
    doc: dict[str, Any] = yaml.safe_load((work.dir / "imported.smstate.yaml").read_text())
    assert sorted(doc) == ["endpoint_configs", "endpoints", "model_package_groups", "models"]
    models, configs, endpoints = doc["models"], doc["endpoint_configs"], doc["endpoints"]
    assert sorted(models) == ["churn", "pipe"]
    assert models["churn"]["name"] == "churn" and models["pipe"]["name"] == "pipe"  # pinned: not content-named
    assert models["churn"]["tags"] == {"team": "risk"}
    assert models["churn"]["primary_container"]["environment"] == {"SAGEMAKER_PROGRAM": "inference.py"}
    assert [c["image"] for c in models["pipe"]["containers"]] == [target.image, target.image]
    assert "environment" not in models["pipe"]["containers"][0]  # Environment: {} is the same as none
    post = models["pipe"]["containers"][1]["model_data_url"]
    assert post.endswith("/post.tar.gz") and post.startswith("file:///" if target.local else "s3://")
    assert configs["churn-config"]["name"] == "churn-config"
    assert configs["churn-config"]["production_variants"][0]["model_name"] == "${models.churn.name}"
    assert configs["churn-config"]["production_variants"][0]["initial_instance_count"] == 2
    assert configs["pipe-config"]["production_variants"][0]["model_name"] == "${models.pipe.name}"
    assert endpoints == {
        "churn": {"endpoint_config_name": "${endpoint_configs.churn-config.name}", "tags": {"team": "risk"}},
        "pipe": {"endpoint_config_name": "${endpoint_configs.pipe-config.name}"},
    }
    assert doc["model_package_groups"] == {"churn-models": {"model_package_group_description": "Churn classifiers"}}
    assert "smstate:" not in (work.dir / "imported.smstate.yaml").read_text()
    state = work.state()
    assert sorted(state["resources"]) == [
        "endpoint_configs.churn-config", "endpoint_configs.pipe-config", "endpoints.churn", "endpoints.pipe",
        "model_package_groups.churn-models", "models.churn", "models.pipe",
    ]
    assert state["resources"]["endpoint_configs.churn-config"]["dependencies"] == ["models.churn"]
    assert state["resources"]["endpoints.churn"]["dependencies"] == ["endpoint_configs.churn-config"]

    plan = work.run("plan", "--detailed-exitcode")
    assert plan.code == 0, str(plan)
    assert "No changes." in plan.out
    assert work.run("drift").code == 0
    # imported without --adopt: nothing was tagged
    for model in ("churn", "pipe"):
        assert not any(k.startswith("smstate:") for k in target.tags(target.sm.describe_model(ModelName=model)["ModelArn"]))

    # the references are live: a change to the endpoint's tags is planned on the imported endpoint
    text = (work.dir / "imported.smstate.yaml").read_text()
    (work.dir / "imported.smstate.yaml").write_text(text.replace("team: risk", "team: growth"))
    changes = json.loads(work.run("plan", "--json").out)["changes"]
    assert sorted((c["address"], c["action"]) for c in changes) == [("endpoints.churn", "update"), ("models.churn", "update")]


def test_generate_config_refuses_to_overwrite_a_file(tmp_path: Path, target: Target) -> None:  # noqa: F811
    target.hand_model("churn")
    work = empty_dir(tmp_path, target)
    existing = work.dir / "imported.smstate.yaml"
    existing.write_text("# mine\n")

    result = work.run("import", "--generate-config", "imported.smstate.yaml")

    assert_clean_failure(result, "imported.smstate.yaml", "already exists")
    assert existing.read_text() == "# mine\n"
    assert not state_path(work.dir).exists()
    assert_clean_failure(work.run("import", "--generate-config", "imported.yaml"), "*.smstate.yaml")


def test_generate_config_name_prefix_and_type_filter(tmp_path: Path, target: Target) -> None:  # noqa: F811
    build_account(target)
    by_prefix = Workdir.make(tmp_path / "prefix", target, target.provider_block())
    by_type = Workdir.make(tmp_path / "type", target, target.provider_block())

    prefixed = by_prefix.run("import", "--generate-config", "churn.smstate.yaml", "--name-prefix", "churn")
    typed = by_type.run("import", "--generate-config", "endpoints.smstate.yaml", "--type", "endpoints")

    assert prefixed.code == 0, str(prefixed)
    assert sorted(by_prefix.state()["resources"]) == [
        "endpoint_configs.churn-config", "endpoints.churn", "model_package_groups.churn-models", "models.churn",
    ]
    assert "pipe" not in (by_prefix.dir / "churn.smstate.yaml").read_text()
    assert typed.code == 0, str(typed)
    doc = yaml.safe_load((by_type.dir / "endpoints.smstate.yaml").read_text())
    assert list(doc) == ["endpoints"]
    # its config is not imported, so the endpoint names it literally
    assert doc["endpoints"]["churn"]["endpoint_config_name"] == "churn-config"
    for work in (by_prefix, by_type):
        plan = work.run("plan", "--detailed-exitcode")
        assert plan.code == 0 and "No changes." in plan.out, str(plan)
    assert_clean_failure(by_type.run("import", "--generate-config", "x.smstate.yaml", "--type", "widgets"), "--type 'widgets'")


def hand_endpoint(t: Target) -> str:
    t.hand_model("churn", label="churn")
    t.hand_config("churn-config", "churn")
    t.sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn-config", Tags=[{"Key": "team", "Value": "risk"}])
    return str(t.settle("churn")["EndpointArn"])


DECLARED = """\
endpoints:
  churn:
    endpoint_config_name: churn-config
    tags: {team: risk}
"""


def test_import_one_endpoint_records_it_and_tags_nothing(tmp_path: Path, target: Target) -> None:  # noqa: F811
    arn = hand_endpoint(target)
    work = empty_dir(tmp_path, target, DECLARED)

    result = work.run("import", "endpoints.churn", "churn")

    assert result.code == 0, str(result)
    assert "Import successful!" in result.out
    recorded = work.resource("endpoints.churn")
    assert recorded["type"] == "endpoint" and recorded["physical_name"] == "churn" and recorded["arn"] == arn
    assert recorded["attributes"]["endpoint_config_name"] == "churn-config"
    assert target.tags(arn) == {"team": "risk"}
    plan = work.run("plan", "--detailed-exitcode")
    assert plan.code == 0 and "No changes." in plan.out, str(plan)
    assert work.run("drift").code == 0
    serial = work.state()["serial"]
    assert_clean_failure(work.run("import", "endpoints.churn", "churn"), "endpoints.churn", "already in the state")
    assert work.state()["serial"] == serial


def test_import_with_adopt_adds_the_ownership_tags(tmp_path: Path, target: Target) -> None:  # noqa: F811
    arn = hand_endpoint(target)
    work = empty_dir(tmp_path, target, DECLARED)

    result = work.run("import", "--adopt", "endpoints.churn", "churn")

    assert result.code == 0, str(result)
    assert target.tags(arn) == {"team": "risk", ADDRESS_TAG: "endpoints.churn", LINEAGE_TAG: work.lineage}
    assert work.resource("endpoints.churn")["tags"] == {"team": "risk"}
    assert work.run("plan", "--detailed-exitcode").code == 0
    assert work.run("drift").code == 0


def test_import_of_a_missing_or_mistyped_object_is_one_error(tmp_path: Path, target: Target) -> None:  # noqa: F811
    hand_endpoint(target)
    work = empty_dir(tmp_path, target)

    assert_clean_failure(work.run("import", "endpoints.ghost", "ghost"), "no endpoint named 'ghost'")
    assert_clean_failure(work.run("import", "endpoints.churn", "churn-config"), "no endpoint named 'churn-config'")
    assert_clean_failure(work.run("import", "models.churn", "churn-config"), "no model named 'churn-config'")
    assert_clean_failure(work.run("import", "widgets.churn", "churn"), "widgets")
    assert_clean_failure(work.run("import", "endpoints.churn"), "usage")
    assert not state_path(work.dir).exists() or work.state()["resources"] == {}


def test_an_object_of_another_state_is_refused(tmp_path: Path, target: Target) -> None:  # noqa: F811
    other = "7e57ab1e-0000-4000-8000-000000000000"
    target.hand_model("theirs", tags={LINEAGE_TAG: other, ADDRESS_TAG: "models.theirs"})
    target.hand_model("free", label="free")
    work = empty_dir(tmp_path, target)

    refused = work.run("import", "models.theirs", "theirs")
    adopted = work.run("import", "--adopt", "models.theirs", "theirs")

    for result in (refused, adopted):
        assert_clean_failure(result, "theirs", "another smstate state", other)
    assert target.tags(target.sm.describe_model(ModelName="theirs")["ModelArn"])[LINEAGE_TAG] == other
    generated = work.run("import", "--generate-config", "imported.smstate.yaml")
    assert generated.code == 0, str(generated)
    assert sorted(yaml.safe_load((work.dir / "imported.smstate.yaml").read_text())["models"]) == ["free"]

"""examples/aws-basic through apply, re-plan, a replacement and an in-place tag change."""

from __future__ import annotations

import json
import re
import stat

from .conftest import Aws, Project
from .helpers import state_path, tags_of

LINEAGE_TAG = "smstate:lineage"
ADDRESS_TAG = "smstate:address"
IMAGE_V2 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"


def test_apply_creates_every_object_tagged_and_records_state(shared_applied: Project, account: Aws) -> None:
    result = shared_applied.first_apply
    assert result is not None

    assert result.code == 0, str(result)
    assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in result.out
    assert "Traceback" not in result.err

    sm = account.sagemaker
    [model] = account.model_names()
    assert re.fullmatch(r"churn-[0-9a-f]{8}", model)
    [config] = account.endpoint_config_names()
    assert re.fullmatch(r"churn-[0-9a-f]{8}", config)
    assert account.endpoint_names() == ["churn"]
    endpoint = sm.describe_endpoint(EndpointName="churn")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == config
    variants = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    assert variants[0]["ModelName"] == model
    described = sm.describe_model(ModelName=model)
    assert described["VpcConfig"] == {"Subnets": [shared_applied.subnet], "SecurityGroupIds": [shared_applied.security_group]}
    assert account.group_names() == ["churn"]
    [package] = sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]

    state = shared_applied.state()
    lineage = state["lineage"]
    resources = state["resources"]
    assert sorted(resources) == [
        "endpoint_configs.churn", "endpoints.churn", "model_package_groups.churn", "model_packages.churn-v1", "models.churn",
    ]
    assert resources["models.churn"]["physical_name"] == model
    assert resources["endpoint_configs.churn"]["physical_name"] == config
    assert resources["model_packages.churn-v1"]["arn"] == package["ModelPackageArn"]
    arns = {
        "models.churn": described["ModelArn"],
        "endpoint_configs.churn": sm.describe_endpoint_config(EndpointConfigName=config)["EndpointConfigArn"],
        "endpoints.churn": endpoint["EndpointArn"],
        "model_package_groups.churn": sm.describe_model_package_group(ModelPackageGroupName="churn")["ModelPackageGroupArn"],
    }
    for address, arn in arns.items():
        assert resources[address]["arn"] == arn
        tags = tags_of(sm, arn)
        assert tags[ADDRESS_TAG] == address
        assert tags[LINEAGE_TAG] == lineage
    for address in ("models.churn", "endpoint_configs.churn", "endpoints.churn"):
        assert tags_of(sm, arns[address])["team"] == "risk"

    path = state_path(shared_applied.dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state["format_version"] == 1
    assert state["serial"] > 0
    assert path.with_name("default.json.backup").exists()
    assert state["outputs"] == {"endpoint": "churn", "model": model}


def test_plan_after_apply_has_no_changes(shared_applied: Project) -> None:
    before = shared_applied.state()

    result = shared_applied.plan("--detailed-exitcode")

    assert result.code == 0, str(result)
    assert "No changes." in result.out
    assert shared_applied.state()["serial"] == before["serial"]


def test_changed_image_replaces_model_and_config_and_updates_endpoint(shared_applied: Project, account: Aws) -> None:
    old_model = shared_applied.state()["resources"]["models.churn"]["physical_name"]
    old_config = shared_applied.state()["resources"]["endpoint_configs.churn"]["physical_name"]

    result = shared_applied.plan("--json", "--detailed-exitcode", "--var", f"image={IMAGE_V2}")

    assert result.code == 2, str(result)
    plan = json.loads(result.out)  # the whole of stdout is one JSON object
    assert result.out.strip().startswith("{") and result.out.strip().endswith("}")
    assert plan["format_version"] == 1
    assert plan["lineage"] == shared_applied.state()["lineage"]
    assert plan["serial"] == shared_applied.state()["serial"]
    changes = {c["address"]: c for c in plan["changes"]}
    assert changes["models.churn"]["action"] == "replace"
    assert "primary_container.image" in changes["models.churn"]["reason"]
    assert changes["endpoint_configs.churn"]["action"] == "replace"
    endpoint = changes["endpoints.churn"]
    assert endpoint["action"] == "update"
    [item] = [d for d in endpoint["diff"] if d["path"] == "endpoint_config_name"]
    assert item["before"] == old_config
    assert re.fullmatch(r"churn-[0-9a-f]{8}", item["after"]) and item["after"] != old_config
    # the model package registers a new version of the image too
    assert changes["model_packages.churn-v1"]["action"] == "replace"
    assert "model_package_groups.churn" not in changes
    assert plan["summary"] == {"add": 3, "change": 1, "destroy": 3}
    assert plan["drift"] == []
    assert plan["outputs"]["model"] != old_model

    # the new model name and the endpoint's new config name agree with what apply does (moto
    # has no UpdateEndpoint, so the apply itself is not run here)
    new_model = plan["outputs"]["model"]
    assert changes["endpoint_configs.churn"]["after"]["production_variants"][0]["model_name"] == new_model
    assert account.model_names() == [old_model]


def test_tag_change_is_an_in_place_update(applied: Project, aws: Aws) -> None:
    resources = applied.state()["resources"]

    plan = applied.plan("--var", "team=growth", "--detailed-exitcode")

    assert plan.code == 2, str(plan)
    for address in ("models.churn", "endpoint_configs.churn", "endpoints.churn"):
        assert re.search(rf"^\s+~ {re.escape(address)}\b", plan.out, re.M), plan.out
    assert plan.out.count('~ tags.team: "risk" -> "growth"') == 3
    assert "Plan: 0 to add, 3 to change, 0 to destroy." in plan.out

    result = applied.apply("--var", "team=growth")

    assert result.code == 0, str(result)
    assert "Apply complete! Resources: 0 added, 3 changed, 0 destroyed." in result.out
    after = applied.state()["resources"]
    for address in ("models.churn", "endpoint_configs.churn", "endpoints.churn"):
        assert after[address]["physical_name"] == resources[address]["physical_name"]
        assert after[address]["tags"] == {"team": "growth"}
        assert tags_of(aws.sagemaker, after[address]["arn"])["team"] == "growth"
    assert applied.plan("--var", "team=growth", "--detailed-exitcode").code == 0

"""`smstate drift` and lifecycle rules end to end, on a moto server and on the local target.

Every change is made by hand with boto3, as someone with the console would: tags added, an
endpoint deleted, an endpoint switched to another config, a variant weight changed, an
orphan left behind. Each must come out with the right kind and path, exit 2, in the four
formats; `apply --refresh-only` accepts the live values and a normal `apply` puts the
config back, on the target that supports the operation (moto has no UpdateEndpoint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import assert_clean_failure, state_path
from .targets import ADDRESS_TAG, LINEAGE_TAG, ROLE, Target, Workdir, target  # noqa: F401  (fixture)

IMAGE_V2 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"


def config(t: Target, endpoint_extra: str = "", model_extra: str = "") -> str:
    return t.provider_block() + f"""\
models:
  echo:
    execution_role_arn: {ROLE}
    primary_container:
      image: {t.image}
      model_data_url: {t.artifact("blue")}
      environment: {{SAGEMAKER_PROGRAM: inference.py}}
    tags: {{team: risk}}
{model_extra}\
endpoint_configs:
  echo:
    production_variants:
      - {{variant_name: primary, model_name: "${{models.echo.name}}", instance_type: ml.m5.large,
          initial_instance_count: 1, initial_variant_weight: 1}}
endpoints:
  echo:
    endpoint_config_name: ${{endpoint_configs.echo.name}}
    tags: {{team: risk}}
{endpoint_extra}"""


def applied_dir(tmp_path: Path, t: Target, **extra: str) -> Workdir:
    work = Workdir.make(tmp_path / "project", t, config(t, **extra))
    work.apply()
    return work


@pytest.fixture
def applied(tmp_path: Path, target: Target) -> Workdir:  # noqa: F811
    return applied_dir(tmp_path, target)


def report(doc: dict[str, Any], work: Workdir) -> dict[str, dict[str, Any]]:
    """Check the documented JSON shape exactly; the drift items by address."""
    assert list(doc) == ["format_version", "lineage", "serial", "drift", "summary"], doc
    state = work.state()
    assert doc["format_version"] == 1
    assert doc["lineage"] == state["lineage"]
    assert doc["serial"] == state["serial"]
    assert isinstance(doc["drift"], list)
    for item in doc["drift"]:
        assert list(item) == ["address", "kind", "type", "physical_name", "diff"], item
        assert item["kind"] in ("modified", "deleted", "unmanaged")
        assert item["type"] in ("model", "endpoint_config", "endpoint", "model_package_group", "model_package")
        assert isinstance(item["physical_name"], str) and item["physical_name"]
        for entry in item["diff"]:
            assert list(entry) == ["path", "before", "after"], entry
        assert (item["diff"] != []) == (item["kind"] == "modified"), item
    counts = {kind: sum(1 for i in doc["drift"] if i["kind"] == kind) for kind in ("modified", "deleted", "unmanaged")}
    assert doc["summary"] == counts
    by_address = {item["address"]: item for item in doc["drift"]}
    assert len(by_address) == len(doc["drift"])
    return by_address


def github(work: Workdir, tmp_path: Path, code: int = 2) -> tuple[list[str], str]:
    """`drift --format github`: its annotation lines and the step summary it wrote."""
    summary = tmp_path / "step-summary.md"
    summary.unlink(missing_ok=True)
    result = work.run("drift", "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == code, str(result)
    annotations = [line for line in result.out.splitlines() if line.startswith("::")]
    assert all(line.startswith("::warning title=smstate drift::") for line in annotations), result.out
    assert summary.exists(), "github format did not write $GITHUB_STEP_SUMMARY"
    return annotations, summary.read_text()


def endpoint_arn(work: Workdir) -> str:
    return str(work.resource("endpoints.echo")["arn"])


# -- no drift -------------------------------------------------------------------------


def test_fresh_apply_reports_no_drift_in_any_format(applied: Workdir, tmp_path: Path) -> None:
    text = applied.run("drift")
    assert text.code == 0, str(text)
    assert "No drift." in text.out

    doc = applied.drift_json(code=0)
    assert report(doc, applied) == {}
    assert doc["summary"] == {"modified": 0, "deleted": 0, "unmanaged": 0}

    markdown = applied.run("drift", "--format", "markdown")
    assert markdown.code == 0, str(markdown)
    assert markdown.out.startswith("### smstate drift") and "No drift" in markdown.out

    annotations, summary = github(applied, tmp_path, code=0)
    assert annotations == []
    assert "No drift" in summary

    assert applied.run("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("target", ["moto"], indirect=True)
def test_unknown_format_is_one_error(tmp_path: Path, target: Target) -> None:  # noqa: F811
    work = Workdir.make(tmp_path / "project", target, config(target))
    assert_clean_failure(work.run("drift", "--format", "yaml"), "unknown format 'yaml'")


# -- modified: tags -------------------------------------------------------------------


def test_added_tag_is_reported_in_every_format_and_apply_removes_it(applied: Workdir, target: Target, tmp_path: Path) -> None:  # noqa: F811
    arn = endpoint_arn(applied)
    target.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}])

    items = report(applied.drift_json(), applied)
    assert items == {
        "endpoints.echo": {
            "address": "endpoints.echo", "kind": "modified", "type": "endpoint", "physical_name": "echo",
            "diff": [{"path": "tags.owner", "before": None, "after": "alice"}],
        }
    }

    text = applied.run("drift")
    assert text.code == 2, str(text)
    assert "~ endpoints.echo (echo) has changed" in text.out
    assert 'tags.owner = "alice"' in text.out
    assert "models.echo" not in text.out

    markdown = applied.run("drift", "--format", "markdown")
    assert markdown.code == 2, str(markdown)
    rows = [line for line in markdown.out.splitlines() if line.startswith("| `")]
    assert rows == ['| `endpoints.echo` | `echo` | modified | `tags.owner`: absent → "alice" |']

    annotations, summary = github(applied, tmp_path)
    assert len(annotations) == 1
    assert "endpoints.echo modified" in annotations[0] and "tags.owner" in annotations[0]
    assert summary == markdown.out

    result = applied.apply()
    assert "0 added, 1 changed, 0 destroyed" in result.out
    live = target.tags(arn)
    assert "owner" not in live and live["team"] == "risk"
    assert applied.run("drift").code == 0


def test_refresh_only_accepts_an_added_tag_and_the_next_apply_removes_it(applied: Workdir, target: Target) -> None:  # noqa: F811
    arn = endpoint_arn(applied)
    target.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}])
    planned = applied.run("plan", "--refresh-only", "--detailed-exitcode")
    assert planned.code == 2, str(planned)

    accepted = applied.run("apply", "--refresh-only", "--auto-approve")

    assert accepted.code == 0, str(accepted)
    assert applied.resource("endpoints.echo")["attributes"]["tags"] == {"team": "risk", "owner": "alice"}
    assert applied.run("drift").code == 0
    assert target.tags(arn)["owner"] == "alice"
    # the config still says no owner: a normal plan offers to remove it
    plan = json.loads(applied.run("plan", "--json").out)
    [change] = plan["changes"]
    assert change["address"] == "endpoints.echo" and change["action"] == "update"
    assert change["diff"] == [{"path": "tags.owner", "before": "alice", "after": None}]
    applied.apply()
    assert "owner" not in target.tags(arn)
    assert applied.run("drift").code == 0


# -- deleted --------------------------------------------------------------------------


def test_deleted_endpoint_is_reported_and_apply_creates_it_again(applied: Workdir, target: Target, tmp_path: Path) -> None:  # noqa: F811
    config_name = applied.resource("endpoint_configs.echo")["physical_name"]
    target.sm.delete_endpoint(EndpointName="echo")
    target.wait_gone("echo")

    items = report(applied.drift_json(), applied)
    assert items == {
        "endpoints.echo": {"address": "endpoints.echo", "kind": "deleted", "type": "endpoint", "physical_name": "echo", "diff": []}
    }
    text = applied.run("drift")
    assert text.code == 2 and "- endpoints.echo (echo) has been deleted" in text.out, str(text)
    markdown = applied.run("drift", "--format", "markdown")
    assert "| `endpoints.echo` | `echo` | deleted | deleted outside smstate |" in markdown.out
    annotations, _ = github(applied, tmp_path)
    assert len(annotations) == 1 and "endpoints.echo deleted" in annotations[0]

    plan = json.loads(applied.run("plan", "--json").out)
    assert [(c["address"], c["action"], c["reason"]) for c in plan["changes"]] == [
        ("endpoints.echo", "create", "deleted outside smstate")
    ]
    applied.apply()
    described = target.settle("echo")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == config_name
    tags = target.tags(described["EndpointArn"])
    assert tags[LINEAGE_TAG] == applied.lineage and tags[ADDRESS_TAG] == "endpoints.echo" and tags["team"] == "risk"
    assert applied.run("drift").code == 0


def test_refresh_only_accepts_a_deleted_endpoint(applied: Workdir, target: Target) -> None:  # noqa: F811
    target.sm.delete_endpoint(EndpointName="echo")
    target.wait_gone("echo")

    applied.run("apply", "--refresh-only", "--auto-approve")

    assert "endpoints.echo" not in applied.state()["resources"]
    assert applied.run("drift").code == 0
    plan = applied.run("plan", "--detailed-exitcode")
    assert plan.code == 2 and "Plan: 1 to add, 0 to change, 0 to destroy." in plan.out, str(plan)


# -- modified: switched to another config ---------------------------------------------


def switch_by_hand(target: Target, endpoint: str, config_name: str) -> None:  # noqa: F811
    """Point the endpoint at another config, the way each target allows."""
    if target.local:
        target.sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
    else:  # moto has no UpdateEndpoint: delete and create again, keeping the tags
        arn = target.sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
        tags = [{"Key": k, "Value": v} for k, v in target.tags(arn).items()]
        target.sm.delete_endpoint(EndpointName=endpoint)
        target.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name, Tags=tags)
    assert target.settle(endpoint)["EndpointConfigName"] == config_name


def test_switched_config_is_reported_with_both_names(applied: Workdir, target: Target) -> None:  # noqa: F811
    recorded = applied.resource("endpoint_configs.echo")["physical_name"]
    model = applied.resource("models.echo")["physical_name"]
    target.hand_config("by-hand", model)
    switch_by_hand(target, "echo", "by-hand")

    items = report(applied.drift_json(), applied)

    assert list(items) == ["endpoints.echo"]
    assert items["endpoints.echo"]["kind"] == "modified"
    assert items["endpoints.echo"]["diff"] == [{"path": "endpoint_config_name", "before": recorded, "after": "by-hand"}]
    text = applied.run("drift")
    assert f'endpoint_config_name: "{recorded}" -> "by-hand"' in text.out, str(text)

    plan = json.loads(applied.run("plan", "--json").out)
    [change] = plan["changes"]
    assert change["action"] == "update"
    assert change["diff"] == [{"path": "endpoint_config_name", "before": "by-hand", "after": recorded}]

    applied.apply("--refresh-only")
    assert applied.resource("endpoints.echo")["attributes"]["endpoint_config_name"] == "by-hand"
    assert applied.run("drift").code == 0
    assert applied.run("plan", "--detailed-exitcode").code == 2
    if not target.local:
        return  # switching back is UpdateEndpoint, which moto lacks
    result = applied.apply()
    assert "0 added, 1 changed, 0 destroyed" in result.out
    assert target.settle("echo")["EndpointConfigName"] == recorded
    assert applied.run("drift").code == 0
    assert applied.run("plan", "--detailed-exitcode").code == 0


# -- modified: variant weight ---------------------------------------------------------


def test_changed_weight_is_reported_and_refresh_only_accepts_it(applied: Workdir, target: Target) -> None:  # noqa: F811
    target.sm.update_endpoint_weights_and_capacities(
        EndpointName="echo",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 0.5, "DesiredInstanceCount": 1}],
    )
    target.settle("echo")

    items = report(applied.drift_json(), applied)

    assert items["endpoints.echo"]["diff"] == [
        {"path": "production_variants[0].current_weight", "before": 1.0, "after": 0.5},
        {"path": "production_variants[0].desired_weight", "before": 1.0, "after": 0.5},
    ]
    markdown = applied.run("drift", "--format", "markdown")
    assert "`production_variants[0].current_weight`: 1.0 → 0.5" in markdown.out
    applied.apply("--refresh-only")
    assert applied.run("drift").code == 0


# -- unmanaged, several kinds at once, --target ----------------------------------------


def test_orphan_deleted_and_modified_together_and_target_restricts(applied: Workdir, target: Target, tmp_path: Path) -> None:  # noqa: F811
    lineage = applied.lineage
    target.hand_model("orphan-by-hand", tags={LINEAGE_TAG: lineage, ADDRESS_TAG: "models.orphan"})
    target.hand_model("someone-elses", label="other", tags={LINEAGE_TAG: "0c0ffee0-another-state", ADDRESS_TAG: "models.x"})
    target.sm.add_tags(ResourceArn=applied.resource("models.echo")["arn"], Tags=[{"Key": "team", "Value": "growth"}])
    target.sm.delete_endpoint(EndpointName="echo")
    target.wait_gone("echo")

    items = report(applied.drift_json(), applied)

    assert sorted(items) == ["endpoints.echo", "models.echo", "models.orphan"]
    assert items["models.orphan"] == {
        "address": "models.orphan", "kind": "unmanaged", "type": "model", "physical_name": "orphan-by-hand", "diff": [],
    }
    assert items["models.echo"]["diff"] == [{"path": "tags.team", "before": "risk", "after": "growth"}]
    assert items["endpoints.echo"]["kind"] == "deleted"
    text = applied.run("drift")
    assert "? models.orphan (orphan-by-hand) carries this state's lineage but is not in state" in text.out
    assert "someone-elses" not in text.out
    annotations, summary = github(applied, tmp_path)
    assert len(annotations) == 3
    assert sum(line.startswith("| `") for line in summary.splitlines()) == 3
    assert "| `models.orphan` | `orphan-by-hand` | unmanaged |" in summary

    only_model = report(applied.drift_json("--target", "models.echo"), applied)
    assert list(only_model) == ["models.echo"]
    only_endpoint = report(applied.drift_json("--target", "endpoints.echo"), applied)
    assert list(only_endpoint) == ["endpoints.echo"]
    assert only_endpoint["endpoints.echo"]["kind"] == "deleted"
    assert applied.run("drift", "--target", "endpoint_configs.echo").code == 0
    assert_clean_failure(applied.run("drift", "--target", "nonsense"))


# -- lifecycle ------------------------------------------------------------------------


def test_prevent_destroy_blocks_destroy(tmp_path: Path, target: Target) -> None:  # noqa: F811
    work = applied_dir(tmp_path, target, endpoint_extra="    lifecycle: {prevent_destroy: true}\n")
    before = state_path(work.dir).read_bytes()

    result = work.run("destroy", "--auto-approve")

    assert_clean_failure(result, "endpoints.echo", "prevent_destroy")
    assert state_path(work.dir).read_bytes() == before
    assert target.settle("echo")["EndpointStatus"] == "InService"
    assert [m["ModelName"] for m in target.sm.list_models()["Models"]] == [work.resource("models.echo")["physical_name"]]
    assert len(target.sm.list_endpoint_configs()["EndpointConfigs"]) == 1
    # targeting something else that takes it along is refused too
    assert_clean_failure(work.run("destroy", "--auto-approve", "--target", "models.echo"), "endpoints.echo")
    assert state_path(work.dir).read_bytes() == before


def test_prevent_destroy_blocks_a_replacement(tmp_path: Path, target: Target) -> None:  # noqa: F811
    work = applied_dir(tmp_path, target, model_extra="    lifecycle: {prevent_destroy: true}\n")
    before = state_path(work.dir).read_bytes()
    models = target.sm.list_models()["Models"]
    text = (work.dir / "smstate.yaml").read_text()
    (work.dir / "smstate.yaml").write_text(text.replace(f"image: {target.image}", f"image: {IMAGE_V2}"))

    plan = work.run("plan")
    applied_again = work.run("apply", "--auto-approve")

    for result in (plan, applied_again):
        assert_clean_failure(result, "models.echo", "prevent_destroy", "replace")
    assert state_path(work.dir).read_bytes() == before
    assert target.sm.list_models()["Models"] == models


def test_ignore_changes_hides_the_ignored_tag_and_nothing_else(tmp_path: Path, target: Target) -> None:  # noqa: F811
    work = applied_dir(tmp_path, target, endpoint_extra='    lifecycle: {ignore_changes: ["tags.owner"]}\n')
    arn = endpoint_arn(work)
    target.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}, {"Key": "cost", "Value": "42"}])

    items = report(work.drift_json(), work)
    plan = json.loads(work.run("plan", "--json").out)

    assert items["endpoints.echo"]["diff"] == [{"path": "tags.cost", "before": None, "after": "42"}]
    [change] = plan["changes"]
    assert change["diff"] == [{"path": "tags.cost", "before": "42", "after": None}]
    assert "tags.owner" not in work.run("plan").out
    # apply removes the tag nobody declared, and leaves the ignored one alone
    work.apply()
    live = target.tags(arn)
    assert "cost" not in live
    assert live["owner"] == "alice"
    assert work.run("drift").code == 0
    assert work.run("plan", "--detailed-exitcode").code == 0


def test_ignore_changes_whole_map_and_wildcard_path(tmp_path: Path, target: Target) -> None:  # noqa: F811
    lifecycle = '    lifecycle: {ignore_changes: [tags, "production_variants[*].current_weight"]}\n'
    work = applied_dir(tmp_path, target, endpoint_extra=lifecycle)
    target.sm.add_tags(ResourceArn=endpoint_arn(work), Tags=[{"Key": "owner", "Value": "alice"}])
    target.sm.update_endpoint_weights_and_capacities(
        EndpointName="echo",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 0.5, "DesiredInstanceCount": 1}],
    )
    target.settle("echo")

    items = report(work.drift_json(), work)

    assert items["endpoints.echo"]["diff"] == [
        {"path": "production_variants[0].desired_weight", "before": 1.0, "after": 0.5}
    ]
    assert work.run("plan", "--detailed-exitcode").code == 0


PACKAGE = """\
model_package_groups:
  churn: {model_package_group_description: Churn classifiers}
model_packages:
  v1:
    model_package_group_name: ${model_package_groups.churn.name}
    inference_specification:
      containers: [{image: "img:1", model_data_url: "s3://smstate-e2e/churn.tar.gz"}]
      supported_content_types: [text/csv]
      supported_response_mime_types: [text/csv]
    model_approval_status: PendingManualApproval
"""


def test_model_package_drift_names_the_package_by_its_arn(tmp_path: Path, target: Target) -> None:  # noqa: F811
    work = Workdir.make(tmp_path / "registry", target, target.provider_block() + PACKAGE)
    work.apply()
    arn = work.resource("model_packages.v1")["arn"]
    target.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    items = report(work.drift_json("--target", "model_packages.v1"), work)

    assert items == {
        "model_packages.v1": {
            "address": "model_packages.v1", "kind": "modified", "type": "model_package", "physical_name": arn,
            "diff": [{"path": "model_approval_status", "before": "PendingManualApproval", "after": "Approved"}],
        }
    }

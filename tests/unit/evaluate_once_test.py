"""Values flow down: a plan evaluates the config once, an apply once for planning, and the
executor completes what the plan computed instead of evaluating the config again. A command
builds its provider once."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from smstate import cli, fanout, pipeline, shapes
from smstate.addresses import Address
from smstate.completion import completer
from smstate.evaluate import Known, evaluate
from smstate.hashing import StateKey
from smstate.pipeline import Inputs, load
from smstate.state import ObjectState, State
from smstate.values import Unknown
from tests.unit.apply_test import STACK, FakeSageMaker


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The CLI run in-process against the in-memory provider, counting evaluations and providers."""
    (tmp_path / "smstate.yaml").write_text(STACK.replace("IMAGE", "1"))
    counts: dict[str, Any] = {"evaluations": 0, "providers": 0, "cloud": FakeSageMaker(tmp_path / "state" / "default.json")}
    real = pipeline.evaluate

    def counting_evaluate(*args: Any, **kwargs: Any) -> Any:
        counts["evaluations"] += 1
        return real(*args, **kwargs)

    def provider(*args: Any) -> FakeSageMaker:
        counts["providers"] += 1
        return counts["cloud"]

    monkeypatch.setattr(pipeline, "evaluate", counting_evaluate)
    monkeypatch.setattr(fanout, "load_provider", provider)
    monkeypatch.chdir(tmp_path)
    return counts


def run(counts: dict[str, Any], *args: str) -> tuple[int, int, int]:
    counts["evaluations"] = counts["providers"] = 0
    code = cli.main(list(args))
    return code, counts["evaluations"], counts["providers"]


def test_plan_and_apply_evaluate_once_and_build_one_provider(counted: dict[str, Any]) -> None:
    assert run(counted, "plan") == (0, 1, 1)
    assert run(counted, "apply", "--auto-approve") == (0, 1, 1)
    assert counted["cloud"].names("CreateEndpoint") == ["e"]
    assert run(counted, "plan", "--detailed-exitcode") == (0, 1, 1)  # no changes
    Path("smstate.yaml").write_text(STACK.replace("IMAGE", "2"))
    assert run(counted, "apply", "--auto-approve") == (0, 1, 1)  # replace model and config, update endpoint
    assert run(counted, "plan", "--detailed-exitcode") == (0, 1, 1)


def test_loading_a_model_has_no_side_effect_the_entry_point_freezes_it() -> None:
    before = gc.get_freeze_count()
    shapes.service_model("sagemaker-runtime")
    assert gc.get_freeze_count() == before
    cli._load_model(["version"])
    assert gc.get_freeze_count() == before
    cli._load_model(["plan"])
    assert gc.get_freeze_count() > before


def test_import_builds_its_provider_once(counted: dict[str, Any]) -> None:
    assert run(counted, "apply", "--auto-approve")[0] == 0
    assert run(counted, "state", "rm", "endpoints.e")[0] == 0
    code, _, providers = run(counted, "import", "endpoints.e", "e", "--adopt")
    assert (code, providers) == (0, 1)


PACKAGED = """provider: {type: aws, region: us-east-1}
model_package_groups:
  g: {model_package_group_description: d}
model_packages:
  p:
    model_package_group_name: ${model_package_groups.g.name}
    inference_specification:
      containers: [{image: "img:1"}]
      supported_content_types: [text/csv]
      supported_response_mime_types: [text/csv]
models:
  m:
    primary_container:
      model_package_name: "${model_packages.p.arn}"
      environment: {PACKAGE: "v-${model_packages.p.version}-of-${model_package_groups.g.name}"}
    execution_role_arn: arn:aws:iam::000000000000:role/r
endpoint_configs:
  c:
    production_variants:
      - {variant_name: a, model_name: "${models.m.name}", instance_type: ml.m5.large, initial_instance_count: 1}
"""


def test_apply_completes_what_the_plan_could_not_know(tmp_path: Path) -> None:
    """Filled in from the state, the plan's unknowns give what evaluating the config then would."""
    (tmp_path / "smstate.yaml").write_text(PACKAGED)
    loaded = load(Inputs(chdir=str(tmp_path)))
    state = State(key=StateKey.generate())
    planned = loaded.evaluate(state).desired
    model, config = Address("models", "m"), Address("endpoint_configs", "c")
    assert isinstance(planned[model].physical_name, Unknown) and isinstance(planned[config].physical_name, Unknown)

    arn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/g/3"
    state.resources["model_package_groups.g"] = ObjectState("model_package_group", "g", "arn:g", "h")
    state.resources["model_packages.p"] = ObjectState("model_package", None, arn, str(planned[Address("model_packages", "p")].spec_hash), version=3)
    complete = completer(planned, loaded.workspace.digest)
    done_model = complete(model, state)
    assert done_model.spec["primary_container"] == {"model_package_name": arn, "environment": {"PACKAGE": "v-3-of-g"}}
    state.resources["models.m"] = ObjectState("model", str(done_model.physical_name), "arn:m", str(done_model.spec_hash))
    done_config = complete(config, state)

    known = {Address.parse(a): Known(o.physical_name, o.arn, o.spec_hash, o.version) for a, o in state.resources.items()}
    direct = evaluate(loaded.config, loaded.variables, known, loaded.workspace.digest, str(tmp_path),
                      keys=pipeline.keys_of(state)).desired
    assert (done_model.physical_name, done_model.spec_hash) == (direct[model].physical_name, direct[model].spec_hash)
    assert done_model.spec == direct[model].spec
    assert (done_config.physical_name, done_config.spec) == (direct[config].physical_name, direct[config].spec)
    assert done_config.spec["production_variants"][0]["model_name"] == done_model.physical_name

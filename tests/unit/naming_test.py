"""Content-hashed names: the same spec gives the same name; any change gives a new one."""

from __future__ import annotations

from smstate import config as config_mod
from smstate.evaluate import evaluate
from smstate.hashing import MAX_NAME, physical_name

BASE = """\
models:
  churn:
    execution_role_arn: arn:aws:iam::123456789012:role/r
    primary_container:
      image: {image}
      model_data_url: {data}
    tags: {{team: {team}}}
endpoint_configs:
  churn:
    production_variants:
      - {{variant_name: a, model_name: "${{models.churn.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}
"""


def names(image: str = "img:1", data: str = "s3://b/m.tar.gz", team: str = "a", digest: str = "0" * 64) -> tuple[str, str]:
    config = config_mod.load([("smstate.yaml", BASE.format(image=image, data=data, team=team))])
    result = evaluate(config, {}, {}, lambda url: digest, "/work")
    model = [d for a, d in result.desired.items() if a.type == "models"][0]
    endpoint_config = [d for a, d in result.desired.items() if a.type == "endpoint_configs"][0]
    return str(model.physical_name), str(endpoint_config.physical_name)


def test_same_spec_same_names() -> None:
    assert names() == names()


def test_image_change_renames_model_and_config() -> None:
    before, after = names(), names(image="img:2")
    assert before[0] != after[0] and before[1] != after[1]
    assert after[0].startswith("churn-") and len(after[0]) == len("churn-") + 8


def test_tags_do_not_change_names() -> None:
    assert names(team="a") == names(team="b")


def test_local_artifact_is_hashed_by_content_not_path() -> None:
    assert names(data="./a.tar.gz", digest="1" * 64) != names(data="./a.tar.gz", digest="2" * 64)
    assert names(data="./a.tar.gz", digest="1" * 64)[0] == names(data="./elsewhere/b.tar.gz", digest="1" * 64)[0]


def test_long_names_are_cut_to_63() -> None:
    name = physical_name("x" * 100, "ab" * 32)
    assert len(name) == MAX_NAME and name.endswith("-abababab")
    assert physical_name("my_model", "f" * 64) == "my-model-ffffffff"

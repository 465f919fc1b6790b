"""Alarms and scaling targets in config: validated against botocore's cloudwatch and
application-autoscaling models, located by file, line and path; names known at plan time."""

from __future__ import annotations

import pytest

from smstate import config as config_mod
from smstate.errors import ConfigError
from smstate.evaluate import evaluate

STACK = """\
endpoints:
  churn:
    endpoint_config_name: churn-cfg
    deployment_config:
      auto_rollback_configuration:
        alarms: [{alarm_name: "${alarms.churn-5xx.name}"}]
alarms:
  churn-5xx:
    namespace: AWS/SageMaker
    metric_name: Invocation5XXErrors
    dimensions: [{name: EndpointName, value: "${endpoints.churn.name}"}]
    statistic: Sum
    period: 60
    evaluation_periods: 1
    threshold: 1
    comparison_operator: GreaterThanOrEqualToThreshold
scaling:
  churn:
    target: {endpoint: "${endpoints.churn.name}", variant: primary}
    min_capacity: 1
    max_capacity: 4
    policies:
      invocations:
        policy_type: TargetTrackingScaling
        target_tracking_scaling_policy_configuration:
          target_value: 100
          predefined_metric_specification: {predefined_metric_type: SageMakerVariantInvocationsPerInstance}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        evaluate(config_mod.load([("smstate.yaml", text)]), {}, {}, lambda url: None)
    return [str(d) for d in info.value.diagnostics]


def test_an_alarm_and_the_endpoint_whose_rollback_names_it_are_no_cycle_and_know_each_others_names() -> None:
    result = evaluate(config_mod.load([("smstate.yaml", STACK)]), {}, {}, lambda url: None)

    by_name = {str(a): d for a, d in result.desired.items()}
    assert by_name["alarms.churn-5xx"].spec["dimensions"] == [{"name": "EndpointName", "value": "churn"}]
    rollback = by_name["endpoints.churn"].spec["deployment_config"]["auto_rollback_configuration"]
    assert rollback["alarms"] == [{"alarm_name": "churn-5xx"}]
    order = [str(a) for a in result.graph.order()]
    assert order.index("alarms.churn-5xx") < order.index("endpoints.churn") < order.index("scaling.churn")
    assert by_name["scaling.churn"].physical_name == "endpoint/churn/variant/primary|sagemaker:variant:DesiredInstanceCount"


def test_a_real_cycle_is_still_one() -> None:
    text = STACK.replace("endpoint_config_name: churn-cfg", 'endpoint_config_name: "${scaling.churn.name}"')
    assert any("dependency cycle" in p for p in problems(text))


def test_alarm_fields_are_checked_against_the_cloudwatch_model() -> None:
    text = STACK.replace("comparison_operator: GreaterThanOrEqualToThreshold", "comparison_operator: Bigger").replace(
        "    statistic: Sum", "    statistics: Sum"
    )
    found = problems(text)
    assert any(p.startswith("smstate.yaml:16: alarms.churn-5xx.comparison_operator: must be one of") for p in found), found
    assert "smstate.yaml:12: alarms.churn-5xx.statistics: unknown field (did you mean 'statistic'?)" in found


def test_a_math_expression_alarm_is_accepted() -> None:
    text = STACK.split("scaling:")[0].replace(
        """    namespace: AWS/SageMaker
    metric_name: Invocation5XXErrors
    dimensions: [{name: EndpointName, value: "${endpoints.churn.name}"}]
    statistic: Sum
    period: 60
""",
        """    metrics:
      - {id: errors, metric_stat: {metric: {namespace: AWS/SageMaker, metric_name: Invocation5XXErrors}, period: 60, stat: Sum}, return_data: false}
      - {id: rate, expression: "errors / 10", return_data: true}
""",
    )
    result = evaluate(config_mod.load([("smstate.yaml", text)]), {}, {}, lambda url: None)
    [alarm] = [d for a, d in result.desired.items() if a.type == "alarms"]
    assert alarm.request["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "Invocation5XXErrors"


def test_scaling_fields_are_checked_against_the_application_autoscaling_model() -> None:
    text = STACK.replace("policy_type: TargetTrackingScaling", "policy_type: Sideways").replace(
        "max_capacity: 4", "max_capacity: many"
    )
    found = problems(text)
    assert "smstate.yaml:21: scaling.churn.max_capacity: expected an integer, got a string" in found, found
    assert any(p.startswith("smstate.yaml:24: scaling.churn.policies.invocations.policy_type: must be one of") for p in found)


def test_a_scaling_target_names_a_variant_or_an_inference_component() -> None:
    found = problems(STACK.replace("variant: primary}", "varient: primary}"))
    assert any("scaling.churn.target.varient: unknown field (did you mean 'variant'?)" in p for p in found), found
    found = problems(STACK.replace('target: {endpoint: "${endpoints.churn.name}", variant: primary}', "target: {endpoint: x}"))
    assert found == ["smstate.yaml:19: scaling.churn.target: name either endpoint and variant, or inference_component"]
    found = problems(STACK.replace("    min_capacity: 1\n", ""))
    assert any("scaling.churn: min_capacity: field required" in p for p in found), found


def test_an_inference_component_target_scales_its_copy_count() -> None:
    text = STACK.replace('target: {endpoint: "${endpoints.churn.name}", variant: primary}', "target: {inference_component: llama}")
    result = evaluate(config_mod.load([("smstate.yaml", text)]), {}, {}, lambda url: None)
    [target] = [d for a, d in result.desired.items() if a.type == "scaling"]
    assert target.physical_name == "inference-component/llama|sagemaker:inference-component:DesiredCopyCount"


def test_tags_on_a_scaling_target_are_refused_rather_than_dropped() -> None:
    found = problems(STACK.replace("    min_capacity: 1\n", "    min_capacity: 1\n    tags: {team: risk}\n"))
    assert found == ["smstate.yaml:21: scaling.churn.tags: a scaling target carries no tags"]


def test_a_serverless_variant_scales_its_provisioned_concurrency() -> None:
    dimension = "sagemaker:variant:DesiredProvisionedConcurrency"
    text = STACK.replace("variant: primary}", f"variant: primary, scalable_dimension: '{dimension}'}}")
    result = evaluate(config_mod.load([("smstate.yaml", text)]), {}, {}, lambda url: None)
    [target] = [d for a, d in result.desired.items() if a.type == "scaling"]
    assert target.physical_name == f"endpoint/churn/variant/primary|{dimension}"
    found = problems(text.replace(dimension, "sagemaker:variant:Sideways"))
    assert any(p.startswith("smstate.yaml:19: scaling.churn.target.scalable_dimension: must be one of") for p in found), found

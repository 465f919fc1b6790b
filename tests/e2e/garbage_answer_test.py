"""An API that answers status 200 with something that is not its answer (a captive proxy's HTML
page, garbage, an empty object) is an error naming the service, the operation and the URL:
never read as empty objects, never drift, never recorded in state."""

from __future__ import annotations

import pytest

from .conftest import Project
from .helpers import assert_clean_failure, state_path
from tests.reliability.proxy import AnswerProxy

ANSWERS = {
    "html": (b"<!DOCTYPE html><html><body><h1>Sign in to the network</h1></body></html>", "text/html"),
    "garbage": (b"\x00\x01 not an answer", "application/octet-stream"),
    "empty-object": (b"{}", "application/x-amz-json-1.1"),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_plan_refresh_only_and_drift_refuse_an_answer_that_is_not_the_api(shared_applied: Project, answer: str) -> None:
    body, content_type = ANSWERS[answer]
    before = state_path(shared_applied.dir).read_bytes()
    with AnswerProxy(body, content_type) as proxy:
        env = {"AWS_ENDPOINT_URL": proxy.url}
        plan = shared_applied.plan(env=env)
        refresh = shared_applied.apply("--refresh-only", env=env)
        drift = shared_applied.run("drift", "--var-file", str(shared_applied.var_file), env=env)

    for result in (plan, refresh, drift):
        error = assert_clean_failure(result, "sagemaker Describe", proxy.url, "not this API's")
        assert error.count("\n") == 0
    assert "Plan:" not in plan.out and "No changes" not in plan.out
    assert "Apply complete" not in refresh.out
    assert state_path(shared_applied.dir).read_bytes() == before
    assert shared_applied.plan("--detailed-exitcode").code == 0

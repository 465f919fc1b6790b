"""On the aws target, plan checks that the VPC subnets and security groups exist."""

from __future__ import annotations

import json

from .conftest import Aws, Project
from .helpers import assert_clean_failure, state_path


def test_missing_subnet_fails_fast(project: Project, aws: Aws) -> None:
    missing = "subnet-0123456789abcdef0"
    project.var_file.write_text(
        json.dumps({**json.loads(project.var_file.read_text()), "subnets": [project.subnet, missing]})
    )

    result = project.plan()

    error = assert_clean_failure(result, missing)
    assert project.subnet not in error
    assert "subnet" in error
    assert not state_path(project.dir).exists()
    applied = project.apply()
    assert_clean_failure(applied, missing)
    assert aws.model_names() == [] and aws.endpoint_names() == []


def test_missing_security_group_fails_fast(project: Project, aws: Aws) -> None:
    missing = "sg-0123456789abcdef0"
    project.var_file.write_text(json.dumps({**json.loads(project.var_file.read_text()), "security_group": missing}))

    result = project.plan()

    assert_clean_failure(result, missing)

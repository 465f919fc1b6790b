"""Without --auto-approve, apply and destroy ask first; anything but `yes`, or Ctrl-C, changes nothing."""

from __future__ import annotations

import signal

from .conftest import Aws, Project
from .helpers import error_lines, read_until, start_cli, state_path


def test_destroy_without_approval_changes_nothing(shared_applied: Project, account: Aws) -> None:
    before = shared_applied.state()

    result = shared_applied.run("destroy", "--var-file", str(shared_applied.var_file), input="no\n")

    assert result.code == 1, str(result)
    assert "Enter a value:" in result.out
    assert "cancelled" in result.out
    assert shared_applied.state() == before
    assert account.endpoint_names() == ["churn"]


def test_interrupt_at_the_approval_prompt(project: Project, aws: Aws) -> None:
    proc = start_cli(["apply", "--var-file", str(project.var_file)], project.dir, project.env)
    try:
        shown = read_until(proc, "Enter a value:")
        assert "Plan: 5 to add, 0 to change, 0 to destroy." in shown
        proc.send_signal(signal.SIGINT)
        rest, err_bytes = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = err_bytes.decode()

    assert proc.returncode == 1, f"exit {proc.returncode}\n{rest.decode()}\n{err}"
    assert "Traceback" not in err
    [error] = error_lines(err) or [""]
    assert "interrupted" in error, err
    assert aws.model_names() == aws.endpoint_names() == []
    assert not state_path(project.dir).with_name("default.json.lock").exists()
    assert not state_path(project.dir).exists() or project.state()["resources"] == {}

    approved = project.run("apply", "--var-file", str(project.var_file), input="yes\n")
    assert approved.code == 0, str(approved)
    assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in approved.out

"""Every demo under `examples/hosting-modes`, run with bash as a user runs it.

Each example is copied to a tmp dir with what it uses beside it (the quickstart it
trains, `local-s3.sh`), its `smstate.yaml` pointed at a free port; the home, the S3
port and TMPDIR are private, and `smstate`, `aws` and `python` are this interpreter's.
A demo must exit 0, print what its hosting mode does, and leave nothing running."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import cli_env, run_cli
from tests.local.s3_harness import answers
from tests.local.server_harness import REPO, free_port

EXAMPLES = REPO / "examples"
LEFT_OUT = shutil.ignore_patterns("build", "state", ".smstate", "__pycache__")
PREDICTIONS = {"predictions": ["setosa", "virginica"]}
STEP = re.compile(r"\x1b\[1m==> (.*?)\x1b\[0m\n")
JSON_START = re.compile(r"^\{", re.M)


@dataclass
class Demo:
    """What a demo printed (stdout and stderr together), by step."""

    output: str

    def steps(self, title: str) -> list[str]:
        """The output of each step whose header starts with `title`, in order."""
        parts = STEP.split(self.output)
        return [body for head, body in zip(parts[1::2], parts[2::2]) if head.startswith(title)]

    def step(self, title: str) -> str:
        found = self.steps(title)
        assert len(found) == 1, f"no single step {title!r} in:\n{self.output}"
        return found[0]


def json_values(text: str) -> list[Any]:
    """Every JSON object printed from the start of a line, in order."""
    values, decoder, start = [], json.JSONDecoder(), 0
    while match := JSON_START.search(text, start):
        value, start = decoder.raw_decode(text, match.start())
        values.append(value)
    return values


def run_demo(name: str, tmp_path: Path, s3_port: int | None = None) -> Demo:
    """Run `examples/hosting-modes/NAME/demo.sh` from a copy; it must exit 0 and stop its server."""
    copies = tmp_path / "examples"
    work = copies / "hosting-modes" / name
    shutil.copytree(EXAMPLES / "quickstart", copies / "quickstart", ignore=LEFT_OUT)
    shutil.copytree(EXAMPLES / "hosting-modes" / name, work, ignore=LEFT_OUT)
    shutil.copy(EXAMPLES / "hosting-modes" / "local-s3.sh", work.parent)
    url = f"http://127.0.0.1:{free_port()}"
    config = work / "smstate.yaml"
    assert "\n  type: local\n" in config.read_text()
    config.write_text(config.read_text().replace("\n  type: local\n", f'\n  type: local\n  url: "{url}"\n', 1))
    env = cli_env(None, {
        "SMSTATE_LOCAL_HOME": str(tmp_path / "home"),
        "SMSTATE_LOCAL_TIME_SCALE": "0.01",
        "S3_PORT": str(s3_port or free_port()),
        "TMPDIR": str(tmp_path),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    })  # fmt: skip
    demo = subprocess.Popen(["bash", "demo.sh"], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        output, _ = demo.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGTERM)  # the demo's shell and the S3 it started
        pytest.fail(f"demo.sh did not finish in 300 s:\n{demo.communicate()[0]}")
    finally:
        still_running = answers(url + "/ping")
        run_cli(["local", "stop"], work, env)  # whatever a failed demo left behind
    assert demo.returncode == 0, output
    assert not still_running, f"the demo left its local SageMaker running at {url}"
    return Demo(output)


def assert_destroyed(demo: Demo, count: int) -> None:
    assert f"Destroy complete! Resources: 0 added, 0 changed, {count} destroyed." in demo.step("smstate destroy")
    assert "local SageMaker stopped" in demo.step("smstate local stop")


def test_async_demo_answers_through_s3(tmp_path: Path) -> None:
    demo = run_demo("async", tmp_path)
    s3 = re.search(r"its S3 at (http://\S+)", demo.output)
    assert s3, demo.output
    answered = demo.step("invoke-endpoint-async")
    assert "the answer will be at s3://smstate-async/output/" in answered
    assert json_values(answered) == [PREDICTIONS]
    assert_destroyed(demo, 3)
    assert not answers(s3.group(1) + "/")  # the local S3 stopped with the server


def test_serverless_demo_answers_and_shows_its_serverless_config(tmp_path: Path) -> None:
    demo = run_demo("serverless", tmp_path)
    assert json_values(demo.step("smstate invoke iris")) == [{"predictions": ["setosa"]}]
    assert json_values(demo.step("DescribeEndpoint")) == [
        {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 1}
    ]
    assert_destroyed(demo, 3)


def test_multi_model_demo_answers_from_each_target_model(tmp_path: Path) -> None:
    s3_port = free_port()
    demo = run_demo("multi-model", tmp_path, s3_port)
    invoked = demo.steps("smstate invoke greetings --target-model")
    assert [json_values(step) for step in invoked] == [
        [{"greeting": "Hello, world!"}], [{"greeting": "Bonjour, world!"}],
        [{"greeting": "Hallo, world!"}], [{"greeting": "Hello, world!"}],
    ]  # fmt: skip
    assert_destroyed(demo, 3)
    assert not answers(f"http://127.0.0.1:{s3_port}/")  # the demo's S3 stopped with it


def captured_by_variant(text: str) -> dict[str, set[tuple[str, str]]]:
    """{variant: {(request, answer)}} from the demo's listing of capture files and their events."""
    found: dict[str, set[tuple[str, str]]] = {}
    variant = ""
    for line in text.splitlines():
        key = re.fullmatch(r"capture/scorer/(\w+)/\d{4}/\d{2}/\d{2}/\d{2}/\S+", line)
        if key:
            variant = key.group(1)
        elif " -> " in line:
            request, answer = line.strip().split(" -> ")
            found.setdefault(variant, set()).add((request, answer))
    return found


def test_shadow_capture_demo_captures_both_variants_and_answers_from_production(tmp_path: Path) -> None:
    s3_port = free_port()
    demo = run_demo("shadow-capture", tmp_path, s3_port)
    [described] = json_values(demo.step("DescribeEndpoint"))
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": "s3://smstate-demo/capture",
    }  # fmt: skip
    assert described["ShadowProductionVariants"] == [["candidate", 1]]
    answers_seen = [json_values(step) for step in demo.steps("smstate invoke scorer")]
    assert answers_seen == [[{"score": 3.0}], [{"score": 3.5}], [{"score": 4.0}]]  # the current model's
    requests = [f'{{"features": [{n}, 2, 3]}}' for n in (1, 2, 3)]
    assert captured_by_variant(demo.step("The captured events")) == {
        "current": {(r, f'{{"score": {s}}}') for r, s in zip(requests, (3.0, 3.5, 4.0))},
        "candidate": {(r, f'{{"score": {s}}}') for r, s in zip(requests, (4.2, 4.9, 5.6))},
    }
    assert_destroyed(demo, 4)
    assert not answers(f"http://127.0.0.1:{s3_port}/")


def test_streaming_demo_prints_each_part_in_order(tmp_path: Path) -> None:
    demo = run_demo("streaming", tmp_path)
    streamed = demo.step("InvokeEndpointWithResponseStream")
    assert "ContentType: text/plain" in streamed
    parts = re.findall(r"^PayloadPart: '(.*)'$", streamed, re.M)
    assert parts == [word + " " for word in "Once upon a time a model answered one".split()]
    assert_destroyed(demo, 3)


def test_model_package_demo_serves_the_approved_version_and_refuses_a_pending_one(tmp_path: Path) -> None:
    demo = run_demo("model-package", tmp_path)
    assert json_values(demo.step("smstate invoke iris")) == [PREDICTIONS]
    checked = demo.step("DescribeModel")
    [container] = json_values(checked)
    assert container["ModelPackageName"].endswith(":model-package/iris/1") and "Image" not in container
    pending = "arn:aws:sagemaker:us-east-1:000000000000:model-package/iris/2"
    assert (
        f"Model package {pending} is in PendingManualApproval status; "
        "only an Approved model package version can be deployed." in checked
    )
    assert_destroyed(demo, 6)

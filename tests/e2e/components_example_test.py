"""`examples/inference-components`: two models on one endpoint, on the local target, as the
example's own config declares them: both answer by name, one rolls to a new model under load
with nothing dropped, its copies scale, the plan is clean again, and destroy removes it all."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import REPO, cli_env, read_state, run_cli
from tests.local.server_harness import ServerProcess, clients

TEXT = '"great service, late parcel"'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("local") / "home").start()
    yield proc
    proc.close()


def answer(runtime: Any, component: str) -> dict[str, str]:
    response = runtime.invoke_endpoint(
        EndpointName="shared", InferenceComponentName=component, Body=TEXT.encode(), ContentType="application/json"
    )
    return dict(json.loads(response["Body"].read()))


class Load:
    """Invocations of both components from two threads until stopped, at most `limit` each."""

    def __init__(self, runtime: Any, limit: int = 5000) -> None:
        self.runtime, self.limit = runtime, limit
        self.answers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(c,)) for c in ("sentiment", "topics")]

    def run(self, component: str) -> None:
        for _ in range(self.limit):
            if self.done.is_set():
                return
            try:
                self.answers.append(answer(self.runtime, component))
            except Exception as exc:  # every failure is a dropped request
                self.errors.append(f"{component}: {exc}")

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join()


def copies(example: Path, env: dict[str, str]) -> dict[str, int]:
    status = run_cli(["rollout", "status", "shared", "--json"], example, env)
    assert status.code == 0, str(status)
    return {c["name"]: c["desired_copies"] for c in json.loads(status.out)["components"]}


def test_the_example_answers_both_rolls_one_under_load_scales_and_destroys(tmp_path: Path, server: ServerProcess) -> None:
    example = tmp_path / "inference-components"
    shutil.copytree(
        REPO / "examples" / "inference-components", example, ignore=shutil.ignore_patterns("build", "state", ".smstate")
    )
    subprocess.run([sys.executable, str(example / "build.py")], check=True, capture_output=True, cwd=example)
    config = example / "smstate.yaml"
    config.write_text(config.read_text().replace("url: http://127.0.0.1:8768", f'url: "{server.url}"'))
    env = cli_env(None)

    applied = run_cli(["apply", "--auto-approve"], example, env, timeout=300)
    assert applied.code == 0, str(applied)
    for component in ("sentiment", "topics"):
        invoked = run_cli(["invoke", "shared", "--inference-component", component, "--body", TEXT], example, env)
        assert invoked.code == 0, str(invoked)
        assert json.loads(invoked.out)["model"] == component
    _, runtime = clients(server.url)

    with Load(runtime) as load:
        rolled = run_cli(["apply", "--auto-approve", "--var", "sentiment=./build/sentiment-v2.tar.gz"], example, env, timeout=300)
    assert rolled.code == 0, str(rolled)
    assert load.errors == [], load.errors[:5]
    assert {a["model"] for a in load.answers} == {"sentiment", "topics"}
    assert {a["version"] for a in load.answers if a["model"] == "sentiment"} == {"v1", "v2"}
    assert answer(runtime, "sentiment")["version"] == "v2"

    v2 = ["--var", "sentiment=./build/sentiment-v2.tar.gz"]
    for count in (3, 1):
        scaled = run_cli(["apply", "--auto-approve", *v2, "--var", f"copies={count}"], example, env, timeout=300)
        assert scaled.code == 0, str(scaled)
        assert copies(example, env)["sentiment"] == count

    again = run_cli(["plan", "--detailed-exitcode", *v2, "--var", "copies=1"], example, env)
    assert again.code == 0, str(again)
    gone = run_cli(["destroy", "--auto-approve", *v2, "--var", "copies=1"], example, env, timeout=300)
    assert gone.code == 0, str(gone)
    sm, _ = clients(server.url)
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == []
    assert read_state(example)["resources"] == {}

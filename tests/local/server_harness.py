"""Running a real local server for the `server_*_test.py` tests.

The server runs as a subprocess on a free loopback port with its own home, the
way users run it; tests talk to it only through boto3, the AWS CLI and raw HTTP.
Models are tiny stdlib-only `code/inference.py` archives made in tmp dirs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]

#: Tests run rollout waits at 1/100 of their policy's seconds.
TIME_SCALE = "0.01"

ECHO_CODE = '''
import json, os

def model_fn(model_dir):
    with open(os.path.join(model_dir, "label.txt")) as handle:
        return handle.read().strip()

def predict_fn(data, model):
    return {"label": model, "input": data}
'''

#: Starts, then fails every request with a 500.
FAILING_CODE = '''
def model_fn(model_dir):
    return None

def predict_fn(data, model):
    raise RuntimeError("this model always fails")
'''

#: Never becomes healthy: loading the model raises.
BROKEN_CODE = '''
def model_fn(model_dir):
    raise RuntimeError("cannot load this model")
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_tar(directory: Path, label: str, code: str = ECHO_CODE) -> Path:
    """A model.tar.gz holding `label.txt` and `code/inference.py`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{label}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("label.txt", label), ("code/inference.py", code)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


class ServerProcess:
    """`python -m providers.local serve` on a free port, with a private home."""

    def __init__(self, home: Path, port: int | None = None, **env: str) -> None:
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SMSTATE_LOCAL_TIME_SCALE": TIME_SCALE, **env}
        self.env.pop("SMSTATE_LOCAL_HOME", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = home.parent / f"{home.name}-server.log"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        command = [sys.executable, "-m", "providers.local", "serve", "--port", str(self.port), "--home", str(self.home)]
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as response:
                    if json.loads(response.read())["status"] == "Healthy":
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.terminate()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


PID_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return {"label": str(os.getpid())}
'''


def clients(url: str) -> tuple[Any, Any]:
    """boto3 `sagemaker` and `sagemaker-runtime` clients for the server at `url`."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=32)
    return (
        session.client("sagemaker", endpoint_url=url, config=config),
        session.client("sagemaker-runtime", endpoint_url=url, config=config),
    )


def cloudwatch(url: str) -> Any:
    """A boto3 `cloudwatch` client for the server at `url`."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("cloudwatch", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def alarm_on_5xx(cw: Any, endpoint: str, variant: str = "primary") -> str:
    """An alarm `<endpoint>-5xx` on any Invocation5XXErrors of the variant within a minute."""
    name = f"{endpoint}-5xx"
    cw.put_metric_alarm(
        AlarmName=name, Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
    )  # fmt: skip
    return name


def create_model(sm: Any, name: str, tar: Path) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "local/echo",
            "ModelDataUrl": str(tar),
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        ExecutionRoleArn="arn:aws:iam::000000000000:role/local",
    )


def create_config(sm: Any, name: str, model: str, count: int = 1, variant: str = "primary") -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": variant, "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": count}
        ],
    )


def wait_in_service(sm: Any, endpoint: str, attempts: int = 300) -> None:
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": attempts}
    )


def deploy(sm: Any, name: str, tar: Path, count: int = 1, wait: bool = True) -> None:
    """Model, config and endpoint all called `name`."""
    create_model(sm, name, tar)
    create_config(sm, name, name, count)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    if wait:
        wait_in_service(sm, name)


def wait_settled(sm: Any, endpoint: str, timeout: float = 60.0) -> dict[str, Any]:
    """DescribeEndpoint once the endpoint is out of Creating/Updating/RollingBack."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] not in ("Creating", "Updating", "RollingBack", "SystemUpdating"):
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{endpoint} still {described['EndpointStatus']} after {timeout}s")


def invoke_label(rt: Any, endpoint: str, payload: Any = 1) -> str:
    response = rt.invoke_endpoint(EndpointName=endpoint, Body=json.dumps(payload), ContentType="application/json")
    return str(json.loads(response["Body"].read())["label"])


def model_servers(pid: int) -> set[int]:
    """Live model servers of the local server `pid`: forks of its warm parents, and servers it started itself."""
    warm = {child for child in children(pid) if "fork_server.py" in _cmdline(child)}
    return (children(pid) - warm).union(*(children(parent) for parent in warm))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> set[int]:
    """Live child processes of `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


class Traffic:
    """Calls `ask` from a thread until stopped, recording every answer and every error code."""

    def __init__(self, ask: Callable[[], str]) -> None:
        self.ask = ask
        self.labels: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.labels.append(self.ask())
            except ClientError as error:
                self.errors.append(error.response["Error"]["Code"])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 40.0, every: float = 0.1) -> None:
    """Call `check` every `every` seconds until it is true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def settle(sm: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """DescribeInferenceComponent once it is out of Creating/Updating/Deleting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sm.describe_inference_component(InferenceComponentName=name)
        if described["InferenceComponentStatus"] not in ("Creating", "Updating", "Deleting"):
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{name} still {described['InferenceComponentStatus']}")

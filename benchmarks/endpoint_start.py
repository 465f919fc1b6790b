"""Endpoint start on the local target: CreateEndpoint to InService for the quickstart model
(scikit-learn, 1 instance, `process` runtime), median of RUNS, polled every 10 ms.

Two rows, measured side by side on one server: the model server forked from the warm
parent (the default), and started fresh, as a model whose environment sets `PYTHONPATH`
is (a fork would keep the parent's search path): that is what every start cost before.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from .servers import local_server

RUNS = 7
ROLE = "arn:aws:iam::000000000000:role/local"
REPO = Path(__file__).resolve().parents[1]


def train(out: Path) -> Path:
    subprocess.run([sys.executable, str(REPO / "examples" / "quickstart" / "train.py"), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out / "model.tar.gz"


def start_time(sm: Any, config: str, name: str) -> float:
    start = time.perf_counter()
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    while sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    sm.delete_endpoint(EndpointName=name)
    return elapsed


def measure(sm: Any, artifact: Path) -> dict[str, float]:
    rows = {}
    for label, env in (("forked from the warm parent", {}), ("started fresh", {"PYTHONPATH": str(artifact.parent)})):
        name = "fresh" if env else "warm"
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": "local", "ModelDataUrl": str(artifact), "Environment": {"SAGEMAKER_PROGRAM": "inference.py", **env}})
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
        start_time(sm, name, f"{name}-first")  # the artifact is extracted once, then cached
        rows[label] = statistics.median(start_time(sm, name, f"{name}-{i}") for i in range(RUNS))
    return rows


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        artifact = train(Path(tmp) / "quickstart")
        with local_server(Path(tmp) / "home") as url:
            sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
            rows = measure(sm, artifact)
    print(f"\n5. Endpoint start, quickstart model, 1 instance, CreateEndpoint to InService, median of {RUNS} runs")
    for label, value in rows.items():
        print(f"{label:<30} {value:>6.2f} s")
    print(f"speedup: {rows['started fresh'] / rows['forked from the warm parent']:.1f}x")
    return rows


if __name__ == "__main__":
    main()

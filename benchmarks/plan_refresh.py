"""Plan refresh at scale: `smstate plan` (no changes) against a moto server, versus a
hand-written boto3 script doing the same reads with the same concurrency."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from .servers import moto_server

ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
RUNS = 3


def config_text(n: int) -> str:
    lines = ["provider: {type: aws, region: us-east-1}", "models:"]
    for i in range(n):
        lines += [f"  m{i}:", "    primary_container: {image: 'img:1', model_data_url: 's3://b/m.tar.gz'}"]
    lines.append("endpoint_configs:")
    for i in range(n):
        lines += [
            f"  c{i}:",
            f"    production_variants: [{{variant_name: a, model_name: '${{models.m{i}.name}}', instance_type: ml.m5.large, initial_instance_count: 1}}]",
        ]
    lines.append("endpoints:")
    for i in range(n):
        lines += [f"  e{i}:", f"    endpoint_config_name: ${{endpoint_configs.c{i}.name}}"]
    return "\n".join(lines) + "\n"


def smstate(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "smstate", *args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def baseline(url: str, names: list[tuple[str, str]], parallelism: int) -> float:
    """The practical limit: start a Python, build one client, describe + list tags per object."""
    script = f"""
import boto3
from botocore.config import Config
from concurrent.futures import ThreadPoolExecutor
c = boto3.client("sagemaker", endpoint_url={url!r}, config=Config(max_pool_connections=32))
names = {names!r}
def read(item):
    kind, name = item
    if kind == "m": d = c.describe_model(ModelName=name); arn = d["ModelArn"]
    elif kind == "c": d = c.describe_endpoint_config(EndpointConfigName=name); arn = d["EndpointConfigArn"]
    else: d = c.describe_endpoint(EndpointName=name); arn = d["EndpointArn"]
    c.list_tags(ResourceArn=arn)
with ThreadPoolExecutor({parallelism}) as pool: list(pool.map(read, names))
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], env={**os.environ, **ENV}, check=True)
    return time.perf_counter() - start


def run(sizes: tuple[int, ...] = (100,)) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        with moto_server() as url, tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            (cwd / "smstate.yaml").write_text(config_text(n))
            env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": url}
            smstate(["apply", "--auto-approve"], cwd, env)
            client = boto3.client("sagemaker", endpoint_url=url, config=Config(), **_creds())
            names = _all_names(client)
            plan = statistics.median(smstate(["plan", "--detailed-exitcode"], cwd, env) for _ in range(RUNS))
            base = statistics.median(baseline(url, names, 10) for _ in range(RUNS))
            rows.append({"objects": 3 * n, "plan_s": plan, "baseline_s": base, "ratio": plan / base})
    return rows


def _creds() -> dict[str, str]:
    return {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "region_name": "us-east-1"}


def _all_names(client: object) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for op, key, field, tag in (
        ("list_models", "Models", "ModelName", "m"),
        ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "c"),
        ("list_endpoints", "Endpoints", "EndpointName", "e"),
    ):
        for page in client.get_paginator(op).paginate():  # type: ignore[attr-defined]
            out += [(tag, item[field]) for item in page[key]]
    return out


def main() -> None:
    print("Plan refresh (no changes) against a moto server, median of", RUNS, "runs")
    print(f"{'objects':>8} {'smstate plan':>13} {'boto3 baseline':>15} {'ratio':>6}")
    for row in run():
        print(f"{row['objects']:>8} {row['plan_s']:>12.2f}s {row['baseline_s']:>14.2f}s {row['ratio']:>6.2f}")


if __name__ == "__main__":
    main()

"""Plan refresh at scale: `smstate plan` (no changes) against a moto server in its own process.

For N models, each with an endpoint config and an endpoint (3N objects), it reports:
- wall time of `smstate plan`, median of RUNS, next to a hand-written boto3 script that
  makes the same reads with the same concurrency (the practical limit: List passes, tags in
  bulk where the tagging API answers, ListTags elsewhere), and next to the naive pattern of
  describe + list-tags for every object;
- API calls per object, counted by a loopback proxy;
- the same plan's API calls per object on the local target (LOCAL_SIZE triples);
- CPU time of smstate's own work (config load, validation, hashing, refresh diff, plan,
  render), measured in-process on recorded API answers, so network waits are excluded.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.reliability.proxy import FaultProxy

from .servers import local_server, moto_server

ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
RUNS = 5
PARALLELISM = 10
LOCAL_SIZE = 100
ECHO = b"def model_fn(model_dir):\n    return None\n\n\ndef predict_fn(data, model):\n    return data\n"


AWS_PROVIDER = "provider: {type: aws, region: us-east-1}"


def config_text(n: int, provider: str = AWS_PROVIDER, image: str = "img:1", artifact: str = "s3://b/m.tar.gz") -> str:
    """N models, each with an endpoint config and an endpoint: 3N objects."""
    lines = [provider, "models:"]
    for i in range(n):
        lines += [f"  m{i}:", f"    primary_container: {{image: '{image}', model_data_url: '{artifact}'}}"]
    lines.append("endpoint_configs:")
    for i in range(n):
        lines += [
            f"  c{i}:",
            f"    production_variants: [{{variant_name: a, model_name: '${{models.m{i}.name}}', "
            "instance_type: ml.m5.large, initial_instance_count: 1}]",
        ]
    lines.append("endpoints:")
    for i in range(n):
        lines += [f"  e{i}:", f"    endpoint_config_name: ${{endpoint_configs.c{i}.name}}"]
    return "\n".join(lines) + "\n"


BASELINE = """
import sys, boto3
from botocore.config import Config
from concurrent.futures import ThreadPoolExecutor
naive = sys.argv[1] == "naive"
config = Config(max_pool_connections=32)
c = boto3.client("sagemaker", endpoint_url={url!r}, config=config)
t = boto3.client("resourcegroupstaggingapi", endpoint_url={url!r}, config=config)
def pages(op, key):
    return [i for p in c.get_paginator(op).paginate(MaxResults=100) for i in p[key]]
def bulk(arns):
    found = {{}}
    for start in range(0, len(arns), 100):
        page = t.get_resources(ResourceARNList=arns[start:start + 100])["ResourceTagMappingList"]
        found.update((m["ResourceARN"], m["Tags"]) for m in page)
        if not found:
            break
    return found
kinds = [("m", "list_models", "Models", "ModelName", "ModelArn"),
         ("c", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
         ("e", "list_endpoints", "Endpoints", "EndpointName", "EndpointArn")]
items, tags = [], {{}}
for kind, op, key, name, arn in kinds:
    rows = [(kind, r[name], r[arn]) for r in pages(op, key)]
    items += rows
    if not naive:
        tags.update(bulk([r[2] for r in rows]))
def read(item):
    kind, name, arn = item
    if naive:
        if kind == "m": c.describe_model(ModelName=name)
        elif kind == "c": c.describe_endpoint_config(EndpointConfigName=name)
        else: c.describe_endpoint(EndpointName=name)
    if naive or arn not in tags:
        c.list_tags(ResourceArn=arn)
with ThreadPoolExecutor({parallelism}) as pool: list(pool.map(read, items))
"""


def echo_model(path: Path) -> Path:
    """A model archive whose code answers with its input."""
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(ECHO)
        archive.addfile(info, io.BytesIO(ECHO))
    return path


def timed(command: list[str], cwd: Path | None, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def own_cpu(cwd: Path, url: str) -> float:
    """CPU seconds of smstate's own work for one plan, network excluded (recorded answers)."""
    script = f"""
import gc, os, time, sys
os.chdir({str(cwd)!r})
from smstate import shapes
shapes.service_model()
gc.freeze()  # as the entry point does before a command that reads a config
from smstate.pipeline import Inputs, load, build_plan, planning, read_state, provider_for
from smstate.refresh import refresh_lives
from smstate.plan import Options
from smstate.render import plan_text
loaded = load(Inputs())
state = read_state(loaded.workspace.backend(loaded.config))
lives = refresh_lives(provider_for(loaded), state, 10)
class Replay:
    def read(self, kind, object_id): raise AssertionError
import smstate.pipeline as p
p.refresh_lives = lambda provider, state, parallelism: lives
start = time.process_time()
loaded = load(Inputs(), check=False)  # the steps of `smstate plan`, without the lock
state = read_state(loaded.workspace.backend(loaded.config))
planning(loaded, state)
plan, _ = build_plan(loaded, Replay(), state, Options(), 10)
plan_text(plan)
print(time.process_time() - start)
"""
    env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": url}
    result = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    return float(result.stdout.strip().splitlines()[-1])


def measure(n: int) -> dict[str, Any]:
    with moto_server() as url, tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "smstate.yaml").write_text(config_text(n))
        env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": url}
        smstate = [sys.executable, "-m", "smstate"]
        subprocess.run([*smstate, "apply", "--auto-approve", "--parallelism", "20"], cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        script = BASELINE.format(url=url, parallelism=PARALLELISM)
        plan, same, naive = [], [], []
        for _ in range(RUNS):
            plan.append(timed([*smstate, "plan", "--detailed-exitcode"], cwd, env))
            same.append(timed([sys.executable, "-c", script, "same"], None, env))
            naive.append(timed([sys.executable, "-c", script, "naive"], None, env))
        with FaultProxy(url) as proxy:
            timed([*smstate, "plan"], cwd, {**env, "AWS_ENDPOINT_URL": proxy.url})
            calls = proxy.total
        cpu = statistics.median(own_cpu(cwd, url) for _ in range(3))
    objects = 3 * n
    return {
        "objects": objects,
        "plan": statistics.median(plan),
        "same_reads": statistics.median(same),
        "naive": statistics.median(naive),
        "calls_per_object": calls / objects,
        "cpu_ms_per_object": cpu * 1000 / objects,
    }


def measure_local(n: int) -> dict[str, Any]:
    """`smstate plan` (no changes) of N triples on the local target: wall time and API calls per object."""
    with tempfile.TemporaryDirectory() as tmp, local_server(Path(tmp) / "home") as url:
        cwd = Path(tmp) / "project"
        cwd.mkdir()
        artifact = "file://" + str(echo_model(Path(tmp) / "model.tar.gz"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSTATE_", "AWS_"))}
        smstate = [sys.executable, "-m", "smstate"]

        def write(at: str) -> None:
            (cwd / "smstate.yaml").write_text(config_text(n, f"provider: {{type: local, url: '{at}'}}", "local", artifact))

        write(url)
        subprocess.run([*smstate, "apply", "--auto-approve", "--parallelism", "10"], cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        plan = statistics.median(timed([*smstate, "plan", "--detailed-exitcode"], cwd, env) for _ in range(RUNS))
        with FaultProxy(url) as proxy:
            write(proxy.url)
            timed([*smstate, "plan", "--detailed-exitcode"], cwd, env)
            calls = proxy.total
    return {"objects": 3 * n, "plan": plan, "calls_per_object": calls / (3 * n)}


def main(sizes: tuple[int, ...] = (100, 1000), local_size: int = LOCAL_SIZE) -> list[dict[str, Any]]:
    rows = [measure(n) for n in sizes]
    local = measure_local(local_size)
    print(f"\n1. Plan refresh (no changes) vs a moto server, median of {RUNS} runs, parallelism {PARALLELISM}")
    print(f"{'objects':>8} {'smstate plan':>13} {'boto3 same reads':>17} {'ratio':>6} {'boto3 describe+tags':>20} "
          f"{'x faster':>8} {'calls/object':>13} {'own CPU ms/object':>18}")
    for r in rows:
        print(f"{r['objects']:>8} {r['plan']:>12.2f}s {r['same_reads']:>16.2f}s {r['plan'] / r['same_reads']:>6.2f} "
              f"{r['naive']:>19.2f}s {r['naive'] / r['plan']:>8.2f} {r['calls_per_object']:>13.2f} "
              f"{r['cpu_ms_per_object']:>18.3f}")
    if len(rows) > 1:
        growth = rows[-1]["plan"] / rows[0]["plan"]
        print(f"growth from {rows[0]['objects']} to {rows[-1]['objects']} objects: x{growth:.1f} "
              f"(linear would be x{rows[-1]['objects'] / rows[0]['objects']:.0f})")
    print(f"local target, {local['objects']} objects: `smstate plan` {local['plan']:.2f}s, "
          f"{local['calls_per_object']:.3f} API calls per object")
    return [*rows, local]


if __name__ == "__main__":
    main()

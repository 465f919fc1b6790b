"""Parallel apply: 20 endpoints (model + config + endpoint each) with --parallelism 1 and 10,
on the local target (time spent waiting for model servers to come up) and on a moto server
behind a proxy adding 50 ms to every call (time spent waiting on the network). Each row also
gives the wall time of `smstate plan` of the same config, the part of an apply that parallelism
cannot shorten (start-up, config, refresh, plan), and the speedup of what comes after it.

On the local target each endpoint starts one model server, forked from the warm parent that
has imported the serving stack already, so with a model that loads at once the start costs
little CPU and the endpoints overlap. A model that takes LOAD_SECONDS to load (its model_fn
waits, as one fetching weights from storage does) is the case the parallelism is for: the
time is waiting."""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.reliability.proxy import FaultProxy, Faults

from .servers import free_port, moto_server

ENDPOINTS = 20
RUNS = 3
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
LOAD_SECONDS = 2.0
CODE = """import os, time

def model_fn(model_dir):
    time.sleep(float(os.environ["LOAD_SECONDS"]))
    return 'ok'

def predict_fn(data, model):
    return {'label': model}
"""


def model_tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        data = CODE.encode()
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def config(provider: str, artifact: str, load: float = 0.0) -> str:
    lines = [provider, "models:"]
    for i in range(ENDPOINTS):
        lines += [f"  m{i}:", f"    primary_container: {{image: local, model_data_url: '{artifact}', "
                  f"environment: {{SAGEMAKER_PROGRAM: inference.py, INDEX: '{i}', LOAD_SECONDS: '{load}'}}}}"]
    lines.append("endpoint_configs:")
    for i in range(ENDPOINTS):
        lines += [f"  c{i}:", f"    production_variants: [{{variant_name: a, model_name: '${{models.m{i}.name}}', "
                  "instance_type: ml.m5.large, initial_instance_count: 1}]"]
    lines.append("endpoints:")
    lines += [f"  e{i}:\n    endpoint_config_name: ${{endpoint_configs.c{i}.name}}" for i in range(ENDPOINTS)]
    return "\n".join(lines) + "\n"


def busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (every process, every core), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def run(cwd: Path, env: dict[str, str], parallelism: int) -> tuple[float, float]:
    """Wall time of the apply and the share of the machine's cores busy meanwhile, medians of RUNS."""
    runs = [_run_once(cwd, env, parallelism) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def plan_time(cwd: Path, env: dict[str, str]) -> float:
    """Wall time of `smstate plan` before the apply (start-up, config, refresh, plan): the part of
    an apply that is the same at every parallelism. Median of RUNS."""
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "smstate", "plan"], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def row(target: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    p1, p10 = run(cwd, env, 1), run(cwd, env, 10)
    return {"target": target, "p1": p1, "p10": p10, "plan": plan_time(cwd, env)}  # after the applies: all warmed up


def _run_once(cwd: Path, env: dict[str, str], parallelism: int) -> tuple[float, float]:
    smstate = [sys.executable, "-m", "smstate"]
    cpu, start = busy_cpu(), time.perf_counter()
    subprocess.run([*smstate, "apply", "--auto-approve", "--parallelism", str(parallelism)], cwd=cwd, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    used = (busy_cpu() - cpu) / (elapsed * (os.cpu_count() or 1))
    subprocess.run([*smstate, "destroy", "--auto-approve", "--parallelism", "20"], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return elapsed, used


def local_target(tmp: Path) -> list[dict[str, Any]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **ENV}
    server = subprocess.Popen([sys.executable, "-m", "providers.local", "serve", "--port", str(port), "--home",
                               str(tmp / "home")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        artifact = model_tar(tmp / "model.tar.gz")
        rows = []
        for load, target in ((0.0, "local target, model loads at once"),
                             (LOAD_SECONDS, f"local target, model loads in {LOAD_SECONDS:.0f} s")):
            cwd = tmp / f"local-{load}"
            cwd.mkdir()
            (cwd / "smstate.yaml").write_text(config(f"provider: {{type: local, url: '{url}'}}", str(artifact), load))
            rows.append(row(target, cwd, env))
        return rows
    finally:
        server.terminate()
        server.wait(30)


def moto_target(tmp: Path) -> dict[str, Any]:
    with moto_server() as url, FaultProxy(url, Faults(latency=(0.05, 0.05))) as proxy:
        cwd = tmp / "moto"
        cwd.mkdir()
        (cwd / "smstate.yaml").write_text(config("provider: {type: aws}", "s3://bucket/model.tar.gz"))
        env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": proxy.url}
        return row("moto server + 50 ms per call", cwd, env)


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [*local_target(Path(tmp)), moto_target(Path(tmp))]
    print(f"\n2. Parallel apply: {ENDPOINTS} endpoints ({3 * ENDPOINTS} objects), wall time of `smstate apply`, median of {RUNS} runs")
    print(f"{'target':<40} {'--parallelism 1':>16} {'--parallelism 10':>17} {'speedup':>8} {'cores busy at 10':>17}"
          f" {'plan alone':>11} {'speedup past the plan':>22}")
    for r in rows:
        (p1, _), (p10, busy), plan = r["p1"], r["p10"], r["plan"]
        past = (p1 - plan) / (p10 - plan) if p10 > plan else float("inf")
        print(f"{r['target']:<40} {p1:>15.1f}s {p10:>16.1f}s {p1 / p10:>7.1f}x {busy:>16.0%} {plan:>10.1f}s {past:>21.1f}x")
    return rows


if __name__ == "__main__":
    main()

"""The local data path: InvokeEndpoint through the local target's gateway, against the model
server alone, a minimal starlette app under uvicorn, and `mlflow models serve`, all serving
the quickstart scikit-learn model, loaded by `wrk` with 8 keep-alive connections.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .servers import free_port

REPO = Path(__file__).resolve().parents[1]
BODY = '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
DURATION = "5s"
RUNS = 3
STARLETTE_APP = '''
import json, os, joblib, numpy as np
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
model = joblib.load(os.path.join(os.environ["MODEL_DIR"], "model.joblib"))
async def invocations(request):
    rows = json.loads(await request.body())["instances"]
    return Response(json.dumps({"predictions": model.predict(np.asarray(rows, dtype=float)).tolist()}),
                    media_type="application/json")
async def ping(request):
    return Response("")
app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])
'''


def wrk(url: str) -> dict[str, float]:
    """Each figure is the median of RUNS runs of wrk."""
    runs = [_wrk_once(url) for _ in range(RUNS)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _wrk_once(url: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(BODY)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n')
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{DURATION}", "--latency", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": float(errors.group(1)) if errors else 0.0}


def wait_http(url: str, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            urllib.request.urlopen(url, timeout=1)
            return time.monotonic() - start
        except urllib.error.HTTPError:
            return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = [int(p) for p in out]
    return found + [c for p in found for c in children(p)]


def main() -> list[dict[str, Any]]:
    if not shutil.which("wrk"):
        print("datapath: wrk is not installed (apt-get install wrk); skipped")
        return []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        build = Path(tmp) / "build"
        subprocess.run([sys.executable, str(REPO / "examples/quickstart/train.py"), "--out", str(build)], check=True,
                       stdout=subprocess.DEVNULL)
        # mlflow starts `uvicorn` by name, so this environment's scripts come first on PATH
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        env = {**os.environ, "SAGEMAKER_PROGRAM": "inference.py", "PYTHONPATH": str(REPO), "PATH": path}

        def start(cmd: list[str], ping: str, **extra: str) -> tuple[subprocess.Popen[bytes], float]:
            proc = subprocess.Popen(cmd, env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(lambda: (proc.terminate(), proc.wait(20)))
            return proc, wait_http(ping)

        port = free_port()
        proc, startup = start([sys.executable, "-m", "providers.local.hosting.model_server", "--model-dir",
                               str(build / "model"), "--port", str(port)], f"http://127.0.0.1:{port}/ping")
        rows.append({"name": "model server alone (1 process)", **wrk(f"http://127.0.0.1:{port}/invocations"),
                     "startup": startup, "rss": rss_mb([proc.pid])})

        for count in (1, 2):
            rows.append(_local_target(build, count, env, stack))

        port = free_port()
        (Path(tmp) / "app.py").write_text(STARLETTE_APP)
        proc, startup = start([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--no-access-log",
                               "--log-level", "warning", "--app-dir", tmp], f"http://127.0.0.1:{port}/ping",
                              MODEL_DIR=str(build / "model"))
        rows.append({"name": "starlette + uvicorn (1 worker)", **wrk(f"http://127.0.0.1:{port}/invocations"),
                     "startup": startup, "rss": rss_mb([proc.pid])})

        mlflow = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
        if Path(mlflow).exists():
            mlmodel = Path(tmp) / "mlflow-model"
            subprocess.run([sys.executable, "-c", f"import joblib, mlflow.sklearn; mlflow.sklearn.save_model("
                            f"joblib.load({str(build / 'model/model.joblib')!r}), {str(mlmodel)!r})"],
                           check=True, capture_output=True)
            port = free_port()
            proc, startup = start([mlflow, "models", "serve", "-m", str(mlmodel), "-p", str(port), "--env-manager",
                                   "local", "-h", "127.0.0.1"], f"http://127.0.0.1:{port}/ping")
            rows.append({"name": "mlflow models serve (default, 1 worker)",
                         **wrk(f"http://127.0.0.1:{port}/invocations"), "startup": startup,
                         "rss": rss_mb([proc.pid, *children(proc.pid)])})
        else:
            print("datapath: mlflow is not installed (pip install -e '.[bench]'); its row is skipped")
    _print(rows)
    return rows


def _local_target(build: Path, count: int, env: dict[str, str], stack: ExitStack) -> dict[str, Any]:
    import boto3

    port = free_port()
    home = build / f"home-{count}"
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "providers.local", "serve", "--port", str(port), "--home", str(home)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(lambda: (proc.terminate(), proc.wait(30)))
    wait_http(url + "/ping")
    sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
    sm.create_model(ModelName="iris", PrimaryContainer={
        "Image": "local", "ModelDataUrl": str(build / "model.tar.gz"), "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}})
    sm.create_endpoint_config(EndpointConfigName="iris", ProductionVariants=[
        {"VariantName": "a", "ModelName": "iris", "InstanceType": "ml.m5.large", "InitialInstanceCount": count}])
    start = time.monotonic()
    sm.create_endpoint(EndpointName="iris", EndpointConfigName="iris")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="iris", WaiterConfig={"Delay": 0.2, "MaxAttempts": 600})
    startup = time.monotonic() - start
    result = wrk(f"{url}/endpoints/iris/invocations")
    return {"name": f"local target gateway, {count} instance{'s' if count > 1 else ''}", **result,
            "startup": startup, "rss": rss_mb([proc.pid, *children(proc.pid)])}


def _print(rows: list[dict[str, Any]]) -> None:
    mlflow = next((r for r in rows if r["name"].startswith("mlflow")), None)
    print(f"\n3. Local data path: single-row JSON to the quickstart model, wrk -t2 -c8 -d{DURATION} (keep-alive), median of {RUNS} runs")
    print(f"{'server':<42} {'req/s':>8} {'x mlflow':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'start s':>8} "
          f"{'RSS MB':>8}")
    for r in rows:
        ratio = f"{r['rps'] / mlflow['rps']:.2f}" if mlflow else "-"
        print(f"{r['name']:<42} {r['rps']:>8.0f} {ratio:>9} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8.0f} "
              f"{r['startup']:>8.2f} {r['rss']:>8.0f}")
    direct, gateway = rows[0], rows[1]
    print(f"gateway overhead on p50 (1 instance vs the model server alone): {gateway['p50'] / direct['p50'] - 1:+.0%}")


if __name__ == "__main__":
    main()

"""Invoke inference components for a bounded time and report every answer and failure.

    python traffic.py ENDPOINT COMPONENT... [--url http://127.0.0.1:8768] [--seconds 60]

One client thread per component calls InvokeEndpoint with its InferenceComponentName
(boto3 unchanged, against the local SageMaker) until `--seconds` pass or the script is
stopped (SIGTERM or Ctrl-C). Once a second it prints which model version answered each
component; at the end a summary, and exit 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("components", nargs="+")
    parser.add_argument("--url", default="http://127.0.0.1:8768")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    runtime = boto3.client(
        "sagemaker-runtime", endpoint_url=args.url, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=len(args.components)),
    )  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    second: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def invoke(component: str) -> None:
        while not stop.is_set():
            try:
                response = runtime.invoke_endpoint(
                    EndpointName=args.endpoint, InferenceComponentName=component,
                    Body=json.dumps("great service, late parcel"), ContentType="application/json",
                )  # fmt: skip
                answer = json.loads(response["Body"].read())
                outcome = f"{component}={answer['model']}:{answer['version']}"
            except (ClientError, BotoCoreError) as exc:
                outcome = f"{component}=error"
                with lock:
                    failures.append(f"{component}: {exc}")
            with lock:
                second[outcome] += 1
                total[outcome] += 1

    threads = [threading.Thread(target=invoke, args=(c,), daemon=True) for c in args.components]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    try:
        while not stop.is_set() and time.monotonic() - started < args.seconds:
            stop.wait(1.0)
            with lock:
                line, _ = "  ".join(f"{k} {v}" for k, v in sorted(second.items())), second.clear()
            print(f"    traffic {time.monotonic() - started:4.0f}s | {line}", flush=True)
    except KeyboardInterrupt:
        pass
    stop.set()
    for thread in threads:
        thread.join(30)
    requests = sum(total.values())
    print(f"    traffic: {requests} requests, {len(failures)} failed | " + "  ".join(f"{k} {v}" for k, v in sorted(total.items())))
    for failure in failures[:5]:
        print(f"    failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

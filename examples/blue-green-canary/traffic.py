"""Invoke an endpoint continuously and print, once a second, which model answered.

    python traffic.py ENDPOINT [--url http://127.0.0.1:8766] [--threads 2]

Uses boto3's sagemaker-runtime client unchanged against the local SageMaker (it
needs no real credentials). Each line shows the share of responses per model
version and of failed requests during the last second. Runs until killed.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("--url", default="http://127.0.0.1:8766")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    runtime = boto3.client(
        "sagemaker-runtime", endpoint_url=args.url, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=args.threads),
    )  # fmt: skip
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def invoke() -> None:
        while True:
            try:
                response = runtime.invoke_endpoint(EndpointName=args.endpoint, Body=b"[1, 2, 3]", ContentType="application/json")
                outcome = json.loads(response["Body"].read())["version"]
            except (ClientError, BotoCoreError):
                outcome = "errors"
            with lock:
                counts[outcome] += 1

    for _ in range(args.threads):
        threading.Thread(target=invoke, daemon=True).start()
    started = time.monotonic()
    while True:
        time.sleep(1.0)
        with lock:
            second = dict(counts)
            counts.clear()
        total = sum(second.values()) or 1
        shares = "  ".join(f"{name} {second[name] / total:4.0%}" for name in sorted(second, key=_order))
        print(f"    traffic {time.monotonic() - started:4.0f}s | {shares}  ({total} req/s)", flush=True)


def _order(name: str) -> tuple[int, str]:
    return (name == "errors", name)


if __name__ == "__main__":
    main()

"""Send a bounded load to an endpoint and print what answered.

    python traffic.py ENDPOINT [--url http://127.0.0.1:8767] [--requests 3000] [--threads 8]

N requests from K threads through boto3's sagemaker-runtime client, unchanged against
the local SageMaker (it needs no real credentials). Prints a line a second (requests so
far, per model version and failed) and the totals at the end; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
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
    parser.add_argument("--url", default="http://127.0.0.1:8767")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    runtime = boto3.client(
        "sagemaker-runtime", endpoint_url=args.url, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=args.threads),
    )  # fmt: skip
    tickets = itertools.count()
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def invoke() -> None:
        while next(tickets) < args.requests:
            try:
                response = runtime.invoke_endpoint(EndpointName=args.endpoint, Body=b"[1, 2, 3]", ContentType="application/json")
                outcome = json.loads(response["Body"].read())["version"]
            except (ClientError, BotoCoreError):
                outcome = "errors"
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=invoke, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(1.0)
        with lock:
            print(f"    traffic {time.monotonic() - started:4.0f}s | {_counts(counts)}", flush=True)
    print(f"done: {_counts(counts)} from {args.threads} threads in {time.monotonic() - started:.1f}s")
    return 1 if counts["errors"] else 0


def _counts(counts: Counter[str]) -> str:
    return "  ".join(f"{name} {counts[name]}" for name in sorted(counts, key=lambda n: (n == "errors", n)))


if __name__ == "__main__":
    sys.exit(main())

"""A local S3 for offline work: a moto server on a free loopback port.

Started by the local server (`serve --local-s3`) when no S3 endpoint is configured,
and stopped with it: the child is told to exit when its parent dies, so it never
outlives the local server. Its buckets live in memory: they are gone after a
restart. Needs `moto[server]` (`pip install 'moto[server]'`); without it, point
`provider.s3_endpoint_url` (or `AWS_ENDPOINT_URL_S3`) at an S3 you run (MinIO,
LocalStack, a moto server started by hand).
"""

from __future__ import annotations

import ctypes
import importlib.util
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

START_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


class LocalS3Error(Exception):
    """The local S3 could not be started; the message says what to do."""


def available() -> bool:
    return importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None


def start(log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a moto server; its URL and process once it answers."""
    if not available():
        raise LocalS3Error(
            "a local S3 needs moto[server] (pip install 'moto[server]'); or set provider.s3_endpoint_url "
            "to an S3 you run (MinIO, LocalStack)"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalS3Error(f"the local S3 (moto) exited at start; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
                response.read()
            return url, process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise LocalS3Error(f"the local S3 (moto) did not answer within {START_TIMEOUT:g} s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the local server exits, however it exits (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass

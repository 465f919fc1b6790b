"""Start-up: `smstate --help` and `smstate validate` on a 300-object config, next to a bare
Python start and a Python that only imports boto3 (median of RUNS)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .plan_refresh import config_text

RUNS = 10


def timed(command: list[str], cwd: str) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "smstate.yaml").write_text(config_text(100))
        smstate = [sys.executable, "-m", "smstate"]
        rows = {
            "python -c pass": timed([sys.executable, "-c", "pass"], tmp),
            "python -c 'import boto3'": timed([sys.executable, "-c", "import boto3"], tmp),
            "smstate --help": timed([*smstate, "--help"], tmp),
            "smstate validate (300 objects)": timed([*smstate, "validate"], tmp),
        }
    print(f"\n4. Start-up, median of {RUNS} runs")
    base = rows["python -c pass"]
    for name, value in rows.items():
        print(f"{name:<34} {value * 1000:>7.0f} ms   ({value / base:.1f}x a bare Python start)")
    return rows


if __name__ == "__main__":
    main()

"""Build the autoscaling demo's model artifact (standard library only).

    python examples/autoscaling/build.py [--out examples/autoscaling/build]

writes OUT/v1.tar.gz and OUT/v2.tar.gz (two releases of a small linear scorer), each
holding `model.json` and `code/inference.py`, the layout SageMaker expects. The archives
are byte-for-byte reproducible (fixed times and owners, gzip mtime 0), so rebuilding
gives the same content hash and smstate plans no change.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

RELEASES = {
    "v1": {"version": "v1", "weights": [0.5, -0.25, 0.1], "bias": 0.0, "work_ms": 20},
    "v2": {"version": "v2", "weights": [0.6, -0.2, 0.15], "bias": 0.05, "work_ms": 20},
}


def pack(members: dict[str, bytes], archive: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    with archive.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the autoscaling demo model artifacts.")
    parser.add_argument("--out", type=Path, default=HERE / "build")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    for name, model in RELEASES.items():
        archive = out / f"{name}.tar.gz"
        pack({"model.json": json.dumps(model, sort_keys=True).encode(), "code/inference.py": code}, archive)
        print(f"built {archive}")


if __name__ == "__main__":
    main()

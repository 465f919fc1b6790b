"""Build the example's model artifacts (standard library only).

    python examples/multi-env/build.py [--out examples/multi-env/build]

writes OUT/churn.tar.gz and OUT/fraud.tar.gz, each holding `model.json` and
`code/inference.py`. The archives are byte-for-byte reproducible, so rebuilding gives the
same content hash and smstate plans no change.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("churn", "fraud")


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
    parser = argparse.ArgumentParser(description="Build the multi-env example's model artifacts.")
    parser.add_argument("--out", type=Path, default=HERE / "build")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    for name in MODELS:
        archive = out / f"{name}.tar.gz"
        pack({"model.json": json.dumps({"name": name}).encode(), "code/inference.py": code}, archive)
        print(f"built {archive}")


if __name__ == "__main__":
    main()

"""Build the demo's model artifacts (standard library only).

    python examples/inference-components/build.py [--out examples/inference-components/build]

writes OUT/sentiment-v1.tar.gz and OUT/sentiment-v2.tar.gz (two releases of a keyword
sentiment model), OUT/topics.tar.gz (a keyword topic model) and OUT/broken.tar.gz (a
release whose model cannot load). Each archive holds `model.json` and
`code/inference.py`. The archives are byte-for-byte reproducible, so rebuilding gives
the same content hash and smstate plans no change.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SENTIMENT = {"positive": ["good", "great", "love"], "negative": ["bad", "awful", "hate"]}
MODELS = {
    "sentiment-v1": {"name": "sentiment", "version": "v1", "keywords": SENTIMENT, "default": "neutral"},
    "sentiment-v2": {
        "name": "sentiment",
        "version": "v2",
        "keywords": {"positive": [*SENTIMENT["positive"], "excellent"], "negative": [*SENTIMENT["negative"], "poor"]},
        "default": "neutral",
    },
    "topics": {
        "name": "topics",
        "version": "v1",
        "keywords": {"billing": ["invoice", "refund", "charge"], "shipping": ["parcel", "delivery", "late"]},
        "default": "other",
    },
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
    parser = argparse.ArgumentParser(description="Build the inference-components demo model artifacts.")
    parser.add_argument("--out", type=Path, default=HERE / "build")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    archives = {name: {"model.json": json.dumps(m, sort_keys=True).encode(), "code/inference.py": code} for name, m in MODELS.items()}
    archives["broken"] = {"model.json": b"not json", "code/inference.py": code}  # model_fn fails: the copy never answers /ping
    for name, members in archives.items():
        archive = out / f"{name}.tar.gz"
        pack(members, archive)
        print(f"built {archive.relative_to(Path.cwd()) if archive.is_relative_to(Path.cwd()) else archive}")


if __name__ == "__main__":
    main()

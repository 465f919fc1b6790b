"""Train the quickstart model and pack it as SageMaker expects a model artifact.

    python examples/quickstart/train.py [--out examples/quickstart/build]

writes OUT/model/model.joblib (a logistic regression on scikit-learn's bundled iris
data, predicting species names), OUT/model/code/inference.py (the handlers), and
OUT/model.tar.gz holding both. The archive is byte-for-byte reproducible (sorted
members, zero mtimes and owners, gzip mtime 0), so retraining in the same environment
gives the same content hash and smstate plans no change.
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import tarfile
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent


def train(model_dir: Path) -> None:
    iris = load_iris()
    model = LogisticRegression(max_iter=1000)
    model.fit(iris.data, iris.target_names[iris.target])
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    (model_dir / "code").mkdir(exist_ok=True)
    shutil.copyfile(HERE / "code" / "inference.py", model_dir / "code" / "inference.py")


def pack(model_dir: Path, archive: Path) -> None:
    """Tar and gzip ``model_dir`` with every varying field (time, owner) fixed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.name == "__pycache__" or "__pycache__" in path.parts:
                continue
            info = tar.gettarinfo(str(path), arcname=path.relative_to(model_dir).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with path.open("rb") as f:
                    tar.addfile(info, f)
    with archive.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description="Train and pack the quickstart model.")
    parser.add_argument("--out", type=Path, default=HERE / "build")
    out = parser.parse_args().out
    train(out / "model")
    pack(out / "model", out / "model.tar.gz")
    print(out / "model.tar.gz")


if __name__ == "__main__":
    main()

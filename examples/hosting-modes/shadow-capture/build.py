"""Build build/current.tar.gz and build/candidate.tar.gz: the same code, different weights."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEIGHTS = {"current": "0.5", "candidate": "0.7"}

if __name__ == "__main__":
    out = HERE / "build"
    out.mkdir(exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    for name, weight in WEIGHTS.items():
        with tarfile.open(out / f"{name}.tar.gz", "w:gz") as archive:
            for member, data in (("weight.txt", weight.encode()), ("code/inference.py", code)):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        print(f"wrote {out / f'{name}.tar.gz'}")

"""Build build/model.tar.gz: the story the model tells and its code/inference.py."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORY = "Once upon a time a model answered one word at a time and nobody had to wait for the end."

if __name__ == "__main__":
    out = HERE / "build"
    out.mkdir(exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    with tarfile.open(out / "model.tar.gz", "w:gz") as archive:
        for member, data in (("story.txt", STORY.encode()), ("code/inference.py", code)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    print(f"wrote {out / 'model.tar.gz'}")

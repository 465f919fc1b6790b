"""Build build/models/<language>.tar.gz, one model archive per language, and upload them
under one S3 prefix (`--upload s3://bucket/prefix/`; boto3 honours AWS_ENDPOINT_URL_S3)."""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    code = (HERE / "code" / "inference.py").read_bytes()
    for language, greeting in GREETINGS.items():
        with tarfile.open(out / f"{language}.tar.gz", "w:gz") as archive:
            for name, data in (("greeting.txt", greeting.encode()), ("code/inference.py", code)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        print(f"wrote {out / f'{language}.tar.gz'}")
    return sorted(out.glob("*.tar.gz"))


def upload(archives: list[Path], prefix: str) -> None:
    import boto3

    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    for archive in archives:
        s3.upload_file(str(archive), bucket, f"{key.rstrip('/')}/{archive.name}".lstrip("/"))
        print(f"uploaded {archive.name} to {prefix.rstrip('/')}/{archive.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "build" / "models")
    parser.add_argument("--upload", metavar="S3_PREFIX", help="upload the archives under this s3:// prefix")
    args = parser.parse_args()
    archives = build(args.out)
    if args.upload:
        upload(archives, args.upload)

"""Model artifacts: from ``ModelDataUrl`` to an extracted model directory.

A ``ModelDataUrl`` may be a filesystem path, a ``file://`` URL or ``s3://bucket/key``
(downloaded with boto3 through ``providers.local.s3``, so ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_S3`` point it at any S3-compatible server). A ``model.tar.gz`` is extracted once per content: the cache
is keyed by the archive's sha256, because the same artifact is hosted by every
instance of every variant that uses it and extraction can take seconds. A path to a
directory (or an ``s3://.../`` prefix, as ``ModelDataSource`` with no compression
names one) is used as the model directory as it is.

The cache lives under ``$SMSTATE_LOCAL_HOME/artifacts`` (default
``~/.smstate/local/artifacts``), next to the local server's registry, so it survives
restarts and is removed with it. Each entry records the URLs it serves (under
``sources/``), so that :func:`prune_cache` can remove it once no model or endpoint
names them any more.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

from providers.local.hosting.errors import HostingError
from providers.local.hosting.extract import safe_extract


def default_cache_dir() -> Path:
    home = os.environ.get("SMSTATE_LOCAL_HOME") or "~/.smstate/local"
    return Path(home).expanduser() / "artifacts"


def fetch_artifact(model_data_url: str, cache_dir: Path) -> Path:
    """The artifact as a local path (a file or a directory), downloading S3 objects."""
    if model_data_url.startswith("s3://"):
        return _download_s3(model_data_url, cache_dir / "downloads")
    if model_data_url.startswith("file://"):
        path = Path(unquote(urlparse(model_data_url).path))
    elif "://" in model_data_url:
        raise HostingError(f"unsupported model artifact URL {model_data_url!r}: use a path, file:// or s3://")
    else:
        path = Path(model_data_url).expanduser()
    if not path.exists():
        raise HostingError(f"model artifact not found: {model_data_url}")
    if not (path.is_file() or path.is_dir()):  # a device or a FIFO would be read forever
        raise HostingError(f"model artifact is not a regular file or a directory: {model_data_url}")
    return path


def prepare_model_dir(model_data_url: str, cache_dir: Path) -> Path:
    """An extracted model directory for the artifact; extracted at most once per content.

    Extraction goes to a scratch directory renamed into place, so a directory in the
    cache is always complete, and two instances preparing the same artifact at once
    both end up with the same directory.
    """
    source = fetch_artifact(model_data_url, cache_dir)
    if source.is_dir():
        return source
    target = cache_dir / "models" / _sha256(source)
    if not target.is_dir():
        with _scratch(target.parent) as scratch:
            safe_extract(source, scratch / "model")
            (scratch / "model").chmod(0o755)
            _move(scratch / "model", target)
    _record_source(target, model_data_url)
    return target


def artifact_urls(model: dict[str, Any]) -> set[str]:
    """The artifact URLs of a DescribeModel-shaped ``model``'s containers."""
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    urls = set()
    for container in containers:
        source = ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        url = container.get("ModelDataUrl") or source
        if url:
            urls.add(str(url))
    return urls


def prune_cache(cache_dir: Path, keep: set[str]) -> list[Path]:
    """Remove what was extracted or downloaded for artifacts no longer in ``keep``.

    Each cache entry ``<kind>/<name>`` records the URLs it was made for in
    ``sources/<kind>/<name>``; an entry none of whose URLs is kept is removed, with
    its record. Returns what was removed.
    """
    removed = []
    for record in sorted(cache_dir.glob("sources/*/*")):
        try:
            urls = set(record.read_text().splitlines())
        except OSError:
            continue
        if urls & keep:
            continue
        entry = cache_dir / record.parent.name / record.name
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
        removed.append(entry)
    return removed


def _record_source(entry: Path, url: str) -> None:
    """Note that ``url`` uses the cache entry ``<cache>/<kind>/<name>``."""
    record = entry.parent.parent / "sources" / entry.parent.name / entry.name
    try:
        known = set(record.read_text().splitlines())
    except FileNotFoundError:
        record.parent.mkdir(parents=True, exist_ok=True)
        known = set()
    if url not in known:
        with record.open("a") as handle:
            handle.write(url + "\n")


@contextlib.contextmanager
def _scratch(parent: Path) -> Iterator[Path]:
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move(source: Path, target: Path) -> None:
    """Rename into place; losing the race to an identical concurrent copy is fine."""
    with contextlib.suppress(OSError):
        source.rename(target)
    if not target.exists():
        raise HostingError(f"could not move {source} into {target}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_s3(url: str, downloads: Path) -> Path:
    """Download an object (or, for a URL ending in ``/``, a prefix) once per ETag."""
    import botocore.exceptions

    from providers.local import s3 as s3_access

    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise HostingError(f"malformed S3 URL: {url}")
    try:
        s3 = s3_access.client()
        if key.endswith("/") or not key:
            return _download_prefix(s3, url, bucket, key, downloads)
        target = _cache_path(downloads, url, s3.head_object(Bucket=bucket, Key=key)["ETag"])
        if not target.exists():
            with _scratch(downloads) as scratch:
                s3.download_file(bucket, key, str(scratch / "artifact"))
                _move(scratch / "artifact", target)
        _record_source(target, url)
        return target
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            raise HostingError(f"model artifact not found: {url}") from None
        raise HostingError(f"cannot download {url}: {exc}") from None
    except botocore.exceptions.BotoCoreError as exc:  # unreachable, no credentials, ...
        raise HostingError(f"cannot download {url}: {exc}") from None


def _download_prefix(s3: Any, url: str, bucket: str, prefix: str, downloads: Path) -> Path:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    objects = [o for page in pages for o in page.get("Contents", []) if not o["Key"].endswith("/")]
    if not objects:
        raise HostingError(f"model artifact not found: {url} (no objects under the prefix)")
    target = _cache_path(downloads, url, "\0".join(f"{o['Key']}\0{o['ETag']}" for o in objects))
    _record_source(target, url)
    if target.exists():
        return target
    with _scratch(downloads) as scratch:
        for obj in objects:
            relative = posixpath.normpath(obj["Key"][len(prefix):])
            if relative.startswith(("../", "/")) or relative in ("..", "."):
                raise HostingError(f"refusing S3 object {obj['Key']!r}: it would land outside the model dir")
            (scratch / "model" / relative).parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(scratch / "model" / relative))
        (scratch / "model").chmod(0o755)
        _move(scratch / "model", target)
    return target


def _cache_path(downloads: Path, url: str, version: str) -> Path:
    return downloads / hashlib.sha256(f"{url}\0{version}".encode()).hexdigest()

"""Local model artifacts: a `model_data_url` given as a path instead of an S3 URL.

It becomes an absolute `file://` URL, whose content (its SHA-256) goes into the spec hash;
the aws provider uploads it, the local target reads it in place. It is checked on its own
(it must exist and be a regular file), not against the S3 URL pattern of the API.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from .values import SENSITIVE, is_secret, like

Path = tuple[str | int, ...]
PLACEHOLDER = "s3://local-artifact/model.tar.gz"
ARTIFACT_FIELDS = frozenset({"model_data_url", "artifact_url"})
"""The fields that hold a model artifact (a model's container, an inference component's container)."""


def localize_artifacts(value: Any, base_dir: str) -> Any:
    """A model artifact given as a path becomes an absolute `file://` URL."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ARTIFACT_FIELDS and isinstance(item, str) and "://" not in item:
                item = like(item, "file://" + posixpath.normpath(posixpath.join(base_dir, item)))
            out[key] = localize_artifacts(item, base_dir)
        return like(value, out)
    if isinstance(value, list):
        return like(value, [localize_artifacts(item, base_dir) for item in value])
    return value


def placeholder_artifacts(value: Any) -> Any:
    """The value with each local artifact's URL replaced by an S3 one, for the API's own checks."""
    if isinstance(value, dict):
        return {
            k: PLACEHOLDER if k in ARTIFACT_FIELDS and isinstance(v, str) and v.startswith("file://") else placeholder_artifacts(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [placeholder_artifacts(v) for v in value]
    return value


def local_artifacts(value: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """(path, url) of every local artifact in a spec."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if key in ARTIFACT_FIELDS and isinstance(item, str) and item.startswith("file://"):
                out.append((path + (key,), item))
            else:
                out += local_artifacts(item, path + (key,))
        return out
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in local_artifacts(item, path + (i,))]
    return []


def artifact_problems(spec: Any, digest: Callable[[str], str | None]) -> list[tuple[Path, str]]:
    """(path, message) of each local artifact that is missing or not a regular file; a sensitive
    URL is never shown."""
    problems: list[tuple[Path, str]] = []
    for path, url in local_artifacts(spec):
        try:
            missing = digest(url) is None
        except ValueError as exc:  # not a regular file: a device or a FIFO would be read forever
            problems.append((path, f"model artifact is not a regular file: {SENSITIVE}" if is_secret(url) else str(exc)))
            continue
        if missing:
            shown = SENSITIVE if is_secret(url) else url.removeprefix("file://")
            problems.append((path, f"model artifact not found: {shown}"))
    return problems

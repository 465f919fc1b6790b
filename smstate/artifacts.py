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


def map_artifacts(
    value: Any, change: Callable[[Path, str], Any], keys: frozenset[str] = ARTIFACT_FIELDS, path: Path = ()
) -> Any:
    """`value` with each artifact URL (a string under one of `keys`, at any depth) replaced by `change(path, url)`."""
    if isinstance(value, dict):
        return like(value, {
            k: change(path + (k,), v) if k in keys and isinstance(v, str) else map_artifacts(v, change, keys, path + (k,))
            for k, v in value.items()
        })  # fmt: skip
    if isinstance(value, list):
        return like(value, [map_artifacts(v, change, keys, path + (i,)) for i, v in enumerate(value)])
    return value


def is_local(url: str) -> bool:
    return url.startswith("file://")


def localize_artifacts(value: Any, base_dir: str) -> Any:
    """A model artifact given as a path becomes an absolute `file://` URL."""

    def localized(_: Path, url: str) -> str:
        return url if "://" in url else like(url, "file://" + posixpath.normpath(posixpath.join(base_dir, url)))

    return map_artifacts(value, localized)


def placeholder_artifacts(value: Any) -> Any:
    """The value with each local artifact's URL replaced by an S3 one, for the API's own checks."""
    return map_artifacts(value, lambda _, url: PLACEHOLDER if is_local(url) else url)


def local_artifacts(value: Any) -> list[tuple[Path, str]]:
    """(path, url) of every local artifact in a spec."""
    found: list[tuple[Path, str]] = []
    map_artifacts(value, lambda path, url: found.append((path, url)) if is_local(url) else None)
    return found


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

"""Safe extraction of ``model.tar.gz`` archives.

A model archive comes from whoever wrote the config, so extracting it must not be able
to write outside the destination or fill the disk. ``tarfile``'s ``data`` filter
refuses absolute paths, ``..`` and links that point outside; on top of it this module
caps the number of members and the number of bytes actually decompressed (counted on
the stream, not taken from the headers), both in absolute terms and relative to the
archive's own size (its compression ratio), and refuses members that would be written
through a symlink the same archive created, which is how the known filter bypasses
reach outside the destination.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import tarfile
import zlib
from pathlib import Path
from typing import Protocol

from providers.local.hosting.errors import HostingError

MAX_BYTES_ENV = "SMSTATE_LOCAL_MAX_ARTIFACT_BYTES"
DEFAULT_MAX_BYTES = 10 * 1024**3
DEFAULT_MAX_MEMBERS = 100_000
MAX_NAME_LENGTH = 1024
_GZIP_MAGIC = b"\x1f\x8b"


MAX_RATIO_ENV = "SMSTATE_LOCAL_MAX_ARTIFACT_RATIO"
DEFAULT_MAX_RATIO = 100
#: An archive may always expand to this much, whatever its ratio (small files compress well).
RATIO_FREE_BYTES = 64 * 1024**2


def max_artifact_bytes() -> int:
    """The decompressed-size cap: ``$SMSTATE_LOCAL_MAX_ARTIFACT_BYTES`` or 10 GiB."""
    return _positive_env(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, "a number of bytes")


def max_artifact_ratio() -> int:
    """How many times its own size an archive may expand to: ``$SMSTATE_LOCAL_MAX_ARTIFACT_RATIO`` or 100."""
    return _positive_env(MAX_RATIO_ENV, DEFAULT_MAX_RATIO, "a whole number")


def _positive_env(name: str, default: int, what: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HostingError(f"{name} must be {what}, got {raw!r}") from None
    if value <= 0:
        raise HostingError(f"{name} must be positive, got {value}")
    return value


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CountingReader:
    """A read-only stream that fails once more than ``limit`` bytes were read."""

    def __init__(self, raw: _Readable, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise _TooLarge()
        return data


class _TooLarge(Exception):
    pass


def safe_extract(
    archive: Path,
    dest: Path,
    max_bytes: int | None = None,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> None:
    """Extract a (gzipped) tar ``archive`` into ``dest``, refusing anything unsafe.

    ``max_bytes`` defaults to :func:`max_artifact_bytes`; whatever it is, an archive
    may expand to no more than :func:`max_artifact_ratio` times its own size (past
    the first 64 MiB): a small archive that expands to gigabytes is a bomb. Raises
    :class:`HostingError` naming the offending member; ``dest`` may then hold a
    partial extraction, so callers extract into a scratch directory and rename it
    into place on success.
    """
    cap = max_artifact_bytes() if max_bytes is None else max_bytes
    ratio = max_artifact_ratio()
    dest.mkdir(parents=True, exist_ok=True)
    with archive.open("rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        by_ratio = max(ratio * size, RATIO_FREE_BYTES)
        limit = min(cap, by_ratio)
        if limit < cap:
            shown = f"{size / 1024**2:.1f} MiB"
            why = f"more than {ratio} times its size of {shown}; raise {MAX_RATIO_ENV} if it is genuine"
        else:
            why = f"more than {limit} bytes; raise {MAX_BYTES_ENV} if it is genuine"
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: _Readable = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        _extract_stream(_CountingReader(stream, limit), archive, dest, limit, max_members, why)


def _extract_stream(
    reader: _CountingReader, archive: Path, dest: Path, limit: int, max_members: int, why: str
) -> None:
    declared = 0
    count = 0
    symlinks: set[str] = set()
    member: tarfile.TarInfo | None = None
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                count += 1
                if count > max_members:
                    raise HostingError(
                        f"model artifact {archive} has more than {max_members} members "
                        f"(at {member.name!r})"
                    )
                declared += member.size
                if declared > limit:
                    raise _TooLarge()
                name = _check_member(member, symlinks)
                tar.extract(member, dest, filter="data")
                if member.issym():
                    symlinks.add(name)
    except _TooLarge:
        where = f" (at {member.name!r})" if member is not None else ""
        reason, _, remedy = why.partition("; ")
        raise HostingError(f"model artifact {archive} expands to {reason}{where}; {remedy}") from None
    except tarfile.FilterError as exc:
        raise HostingError(f"model artifact {archive} has an unsafe member: {exc}") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        where = f" at {member.name!r}" if member is not None else ""
        raise HostingError(f"model artifact {archive} is not a valid tar archive{where}: {exc}") from None


def _check_member(member: tarfile.TarInfo, symlinks: set[str]) -> str:
    """Refuse over-long or absolute names and members placed under an earlier symlink.

    The data filter would strip the leading ``/`` and extract an absolute name inside
    the destination; a model archive has no reason to hold one, so it is refused.
    """
    if len(member.name) > MAX_NAME_LENGTH or len(member.linkname) > MAX_NAME_LENGTH:
        raise HostingError(f"model artifact member name is too long: {member.name[:80]!r}...")
    if member.name.startswith("/"):
        raise HostingError(f"model artifact has an unsafe member: {member.name!r} is an absolute path")
    name = posixpath.normpath(member.name)
    parts = name.split("/")
    for depth in range(1, len(parts) + 1):
        parent = "/".join(parts[:depth])
        if parent in symlinks:
            raise HostingError(
                f"model artifact member {member.name!r} would be written through the symlink {parent!r}"
            )
    if member.islnk() and posixpath.normpath(member.linkname) in symlinks:
        raise HostingError(f"model artifact member {member.name!r} hard-links to the symlink {member.linkname!r}")
    return name

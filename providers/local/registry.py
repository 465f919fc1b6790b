"""The local server's persistent registry of SageMaker objects.

One JSON file per object under `<home>/registry/<table>/`, written atomically
(temp file in the same directory, fsync, rename, fsync of the directory), so a
server killed at any instant leaves every object either as it was or as it
became, never half-written. Everything lives in memory as well; the files are
read once, at start.

Keys are the lower-cased names (`group/3` for a versioned model package), since
SageMaker lower-cases names in ARNs and so treats names differing only in case as
the same object. A record is a plain dict:

- `describe`: the Describe* response, exactly as served (timestamps as epoch
  seconds);
- `tags`: the object's tags, in the order they were added;
- internals of its type next to them (an endpoint's live deployment, a model
  package's client token).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

Record = dict[str, Any]

log = logging.getLogger("smstate.local")


class Table(enum.Enum):
    """The registry's tables, one per object type, valued by its ARN resource type."""

    MODEL = "model"
    ENDPOINT_CONFIG = "endpoint-config"
    ENDPOINT = "endpoint"
    MODEL_PACKAGE_GROUP = "model-package-group"
    MODEL_PACKAGE = "model-package"
    INFERENCE_COMPONENT = "inference-component"


def key_of(name: str) -> str:
    return name.lower()


def write_json_atomic(path: Path, payload: Any) -> None:
    """Replace `path` with `payload` so that readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Registry:
    """All objects of every table, in memory and on disk."""

    def __init__(self, home: Path) -> None:
        self.root = home / "registry"
        self._objects: dict[Table, dict[str, Record]] = {table: {} for table in Table}
        self._by_arn: dict[str, tuple[Table, str]] = {}

    def load(self) -> None:
        """Read every record from disk; unreadable files are skipped, not fatal."""
        for table in Table:
            directory = self.root / table.value
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.json")):
                try:
                    record = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    log.warning("skipping unreadable registry file %s: %s", path, exc)
                    continue
                self._remember(table, unquote(path.stem), record)

    def get(self, table: Table, key: str) -> Record | None:
        return self._objects[table].get(key)

    def by_arn(self, arn: str) -> tuple[Table, str, Record] | None:
        found = self._by_arn.get(arn.lower())
        if found is None:
            return None
        table, key = found
        return table, key, self._objects[table][key]

    def values(self, table: Table) -> Iterator[Record]:
        return iter(list(self._objects[table].values()))

    def items(self, table: Table) -> Iterator[tuple[str, Record]]:
        return iter(list(self._objects[table].items()))

    def put(self, table: Table, key: str, record: Record) -> None:
        """Store `record` (a new object or a changed one) and persist it now."""
        write_json_atomic(self._path(table, key), record)
        self._remember(table, key, record)

    def delete(self, table: Table, key: str) -> None:
        record = self._objects[table].pop(key, None)
        if record is not None:
            self._by_arn.pop(_arn_of(record).lower(), None)
        with contextlib.suppress(FileNotFoundError):
            self._path(table, key).unlink()
        _fsync_dir(self.root / table.value)

    def _remember(self, table: Table, key: str, record: Record) -> None:
        self._objects[table][key] = record
        self._by_arn[_arn_of(record).lower()] = (table, key)

    def _path(self, table: Table, key: str) -> Path:
        return self.root / table.value / f"{quote(key, safe='')}.json"


def arn_of(record: Record) -> str:
    """The object's ARN, as its Describe response gives it."""
    return _arn_of(record)


def _arn_of(record: Record) -> str:
    describe = record["describe"]  # a component's own ARN first: its description names its endpoint's too
    for field in ("InferenceComponentArn", "ModelArn", "EndpointConfigArn", "EndpointArn", "ModelPackageGroupArn", "ModelPackageArn"):
        if field in describe:
            return str(describe[field])
    raise KeyError("record without an ARN")

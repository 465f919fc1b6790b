"""The S3 backend: state shared by a team, locked and written with S3 conditional writes.

The lock is an object created with `If-None-Match: *`, so only one command can hold it.
Every state write is conditional on the ETag this command read (`If-Match`), or on the
object not existing yet, so a concurrent or stale writer is detected and never overwrites.
The previous state is kept by S3 versioning when the bucket has it, else as `<key>.backup`.

Some S3-compatible stores ignore `If-None-Match`, so the lock does not rest on it alone: a
lock object already there is never overwritten, the lock written is read back and is ours
only if it holds our id, and a lock that holds another id is never deleted on release.
"""

from __future__ import annotations

import json
from typing import Any

from ..aws import AwsSettings, Clients
from ..errors import LockError, SmstateError, StateError
from ..state import State
from . import LockInfo, held_message, wait_for_lock

CONFLICT = ("PreconditionFailed", "412", "ConditionalRequestConflict")


class S3Backend:
    """A statefile in an S3 bucket (or an S3-compatible store), its backup and its lock object beside it."""

    def __init__(
        self, bucket: str, key: str, region: str | None = None, endpoint_url: str | None = None, profile: str | None = None
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.lock_key = key + ".lock"
        self.backup_key = key + ".backup"
        self.s3 = Clients(AwsSettings(region=region, profile=profile, endpoint_url=endpoint_url)).client("s3")
        self.etag: str | None = None
        self._versioned: bool | None = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self) -> State | None:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except self.s3.exceptions.NoSuchKey:
            self.etag = None
            return None
        except Exception as exc:  # noqa: BLE001 - every S3 failure becomes one clear line
            raise StateError(f"cannot read {self.describe()}: {_message(exc)}") from None
        try:
            text = response["Body"].read().decode("utf-8")
        except UnicodeDecodeError:
            raise StateError(f"{self.describe()} is not a statefile (not UTF-8 text); the object was left untouched") from None
        except Exception as exc:  # noqa: BLE001 - the connection can break while the body streams
            raise StateError(f"cannot read {self.describe()}: {_message(exc)}") from None
        state = State.loads(text, self.describe())
        self.etag = response["ETag"]
        return state

    def write(self, state: State) -> None:
        body = state.dumps().encode()
        condition: dict[str, str] = {"IfMatch": self.etag} if self.etag else {"IfNoneMatch": "*"}
        if self.etag and not self._bucket_versioned():
            self._backup()
        try:
            response = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, **condition)
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in CONFLICT:
                raise StateError(
                    f"{self.describe()} was changed by another writer since this command read it; "
                    "nothing was overwritten. Run the command again"
                ) from None
            raise StateError(f"cannot write {self.describe()}: {_message(exc)}") from None
        self.etag = response["ETag"]

    def _backup(self) -> None:
        try:
            self.s3.copy_object(
                Bucket=self.bucket, Key=self.backup_key, CopySource={"Bucket": self.bucket, "Key": self.key}
            )
        except Exception as exc:  # noqa: BLE001
            raise StateError(f"cannot back up {self.describe()}: {_message(exc)}") from None

    def _bucket_versioned(self) -> bool:
        if self._versioned is None:
            try:
                status = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
            except Exception:  # noqa: BLE001 - without the permission, keep a backup object
                status = None
            self._versioned = status == "Enabled"
        return self._versioned

    def delete(self) -> None:
        for key in (self.key, self.backup_key):
            self._delete(key, f"cannot delete s3://{self.bucket}/{key}")

    def _delete(self, key: str, failure: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            raise StateError(f"{failure}: {_message(exc)}") from None

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under a prefix (the workspaces' statefiles)."""
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]
        except Exception as exc:  # noqa: BLE001
            raise StateError(f"cannot list s3://{self.bucket}/{prefix}: {_message(exc)}") from None

    def lock(self, operation: str, timeout: float) -> LockInfo:
        info = LockInfo.new(operation)
        wait_for_lock(lambda: self._take(info), timeout, self._held_message, 0.2)
        return info

    def _held_message(self) -> str:
        return held_message(self._holder(), "the state is locked by another command (an unreadable lock object); wait for "
                            "it, pass --lock-timeout, or run `smstate force-unlock unreadable` if it is dead")

    def _take(self, info: LockInfo) -> bool:
        """Write the lock if there is none, then read it back: ours only if it holds our id."""
        if self._lock_exists():
            return False
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=self.lock_key, Body=json.dumps(info.to_json()).encode(), IfNoneMatch="*"
            )
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in CONFLICT:
                return False
            raise LockError(f"cannot lock {self.describe()}: {_message(exc)}") from None
        held = self._holder()
        return held is not None and held.id == info.id

    def unlock(self, info: LockInfo) -> None:
        """Release the lock if it is still ours; one that holds another id was taken over and is left alone."""
        held = self._holder()
        if held is not None and held.id == info.id:
            self._delete(self.lock_key, f"cannot release the lock of {self.describe()}")

    def force_unlock(self, lock_id: str) -> None:
        held = self._holder()
        exists = self._lock_exists()
        if not exists:
            raise LockError(f"the state at {self.describe()} is not locked")
        if held is not None and held.id != lock_id:
            raise LockError(f"lock ID {lock_id!r} does not match the lock held ({held.describe()})")
        if held is None and lock_id != "unreadable":
            raise LockError("the lock object is unreadable; run `smstate force-unlock unreadable` to remove it")
        self._delete(self.lock_key, f"cannot remove the lock of {self.describe()}")

    def _lock_exists(self) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.lock_key)
            return True
        except SmstateError as exc:  # unreachable: say so rather than claim the lock is free
            raise LockError(f"cannot lock {self.describe()}: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise LockError(f"cannot lock {self.describe()}: {_message(exc)}") from None

    def _holder(self) -> LockInfo | None:
        try:
            data = json.loads(self.s3.get_object(Bucket=self.bucket, Key=self.lock_key)["Body"].read())
            return LockInfo(**{k: data[k] for k in LockInfo.__dataclass_fields__})
        except Exception:  # noqa: BLE001
            return None


def _code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _message(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}" if error else str(exc)

"""The state key: the secret that keys every hash of a sensitive value, kept apart from the state.

A statefile may be read by more people than the secrets it stands for (shared buckets,
backups, CI artefacts), so nothing in it may confirm a guess: every hash covering a sensitive
value is an HMAC under this key (hashing.StateKey). The key comes from `SMSTATE_STATE_KEY`
when set; otherwise it is created on first use and kept beside the state: `<statefile>.key`
(mode 0600) for the local backend, the object `<key>.hmac-key` for S3 (protect it with its
own policy). The statefile records only the key's id, so a state read with another key is
refused instead of planning spurious replacements.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from .backends import Backend, LockInfo
from .errors import StateError
from .files import read_regular_text
from .hashing import StateKey
from .state import State

ENV = "SMSTATE_STATE_KEY"
ENV_PREVIOUS = "SMSTATE_STATE_KEY_PREVIOUS"
MIN_LENGTH = 16


def from_env(name: str) -> StateKey | None:
    text = os.environ.get(name)
    if text is None:
        return None
    if len(text) < MIN_LENGTH:
        raise StateError(f"{name} is too short: a state key has at least {MIN_LENGTH} characters")
    return StateKey(text.encode())


class KeyStore(Protocol):
    """Where a backend keeps its state's key; `next` is a key being rotated in."""

    def describe(self) -> str: ...

    def load(self, next: bool = False) -> StateKey | None: ...

    def save(self, key: StateKey, next: bool = False) -> None: ...

    def promote(self) -> None:
        """The `next` key becomes the key."""

    def delete(self) -> None: ...


class LocalKeyStore:
    """`<statefile>.key`, mode 0600, written atomically."""

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".key")
        self.next_path = state_path.with_name(state_path.name + ".key.next")

    def describe(self) -> str:
        return str(self.path)

    def load(self, next: bool = False) -> StateKey | None:
        try:
            text = read_regular_text(self.next_path if next else self.path).strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"cannot read the state key {self.describe()}: {exc}") from None
        return StateKey(text.encode()) if text else None

    def save(self, key: StateKey, next: bool = False) -> None:
        target = self.next_path if next else self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.secret + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def promote(self) -> None:
        os.replace(self.next_path, self.path)

    def delete(self) -> None:
        for path in (self.path, self.next_path):
            path.unlink(missing_ok=True)


class S3KeyStore:
    """The object `<key>.hmac-key` beside the state object."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.key, self.next_key = key + ".hmac-key", key + ".hmac-key.next"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def load(self, next: bool = False) -> StateKey | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.next_key if next else self.key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # noqa: BLE001 - every S3 failure becomes one clear line
            raise StateError(f"cannot read the state key {self.describe()}: {exc}") from None
        return StateKey(body.strip()) if body.strip() else None

    def save(self, key: StateKey, next: bool = False) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.next_key if next else self.key, Body=key.secret + b"\n")
        except Exception as exc:  # noqa: BLE001
            raise StateError(f"cannot write the state key {self.describe()}: {exc}") from None

    def promote(self) -> None:
        key = self.load(next=True)
        if key is not None:
            self.save(key)
            self.s3.delete_object(Bucket=self.bucket, Key=self.next_key)

    def delete(self) -> None:
        for key in (self.key, self.next_key):
            self.s3.delete_object(Bucket=self.bucket, Key=key)


class KeyedBackend:
    """A backend whose states carry their key: read states are checked against it and re-keyed
    from the previous key when needed; written states record its id."""

    def __init__(self, inner: Backend, store: KeyStore) -> None:
        self.inner = inner
        self.store = store
        self._key: StateKey | None = None
        self._unsaved = False
        """The key was created here and is stored with the first state written."""
        self._serial = 0
        """The highest serial read or written through this backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def key(self) -> StateKey:
        """The key, created (and stored) on first use."""
        if self._key is None:
            self._key = from_env(ENV) or self.store.load() or self._create()
        return self._key

    def _create(self) -> StateKey:
        """A new key, stored with the first state written: a command that writes nothing leaves none behind."""
        self._unsaved = True
        return StateKey.generate()

    def keep_key(self) -> None:
        """Store the key if it was created here and is not stored yet (before anything keyed with it is kept)."""
        if self._unsaved and self._key is not None:
            self.store.save(self._key)
            self._unsaved = False

    def new_state(self, lineage: str | None = None) -> State:
        return State(lineage=lineage or str(uuid.uuid4()), key=self.key)

    def read(self) -> State | None:
        state = self.inner.read()
        if state is None:
            return None
        self._serial = max(self._serial, state.serial)
        if state.key_id is None:
            state.key = self.key
            state.previous_key = StateKey.of_lineage(state.lineage) if state.resources else None
            return state
        if self._key is None:
            self._key = from_env(ENV) or self.store.load()
        if self._key is None:
            state.key_problem = (
                f"{self.describe()} was written with a state key (id {state.key_id}) that is missing here: "
                f"restore {self.store.describe()} or set {ENV} (a key lost for good: `smstate state rotate-key --lost`)"
            )
            return state  # what needs no hashing (state list, show, rm) still works
        if state.key_id != self._key.id and not self._previous(state):
            state.key_problem = (
                f"{self.describe()} was written with another state key (id {state.key_id}, this one is {self._key.id}): "
                f"restore {self.store.describe()} or set {ENV} to the key it was written with (or, to move "
                f"to this key, {ENV_PREVIOUS}; a key lost for good: `smstate state rotate-key --lost`)"
            )
            return state
        state.key = self._key
        return state

    def _previous(self, state: State) -> bool:
        """Whether the key the state was written with is known: given as the previous key, or
        the one a rotation stopped between its two writes was bringing in."""
        previous = from_env(ENV_PREVIOUS)
        if previous is not None and previous.id == state.key_id:
            state.previous_key = previous  # a key rotated by hand: the next plan re-keys the state
            return True
        rotated = None if ENV in os.environ else self.store.load(next=True)
        if rotated is not None and rotated.id == state.key_id:
            self.store.promote()
            self._key = rotated
            return True
        return False

    def write(self, state: State) -> None:
        if state.key is not None and state.key != (self._key or from_env(ENV) or self.store.load()):
            if ENV in os.environ:
                raise StateError(f"this state was keyed with another key than {ENV}; nothing was written")
            self.store.save(state.key)  # a state moved here (migration) brings its key
            self._key, self._unsaved = state.key, False
        self.keep_key()
        self.inner.write(state)
        self._serial = max(self._serial, state.serial)

    def commit(self, state: State) -> None:
        """Write `state` as the statefile's next version: the one place a serial grows.

        The serial becomes one past both the state's own and the highest this backend read or
        wrote, so it only grows, whichever copy of the state a command holds (a snapshot, a
        refreshed copy): a saved plan of an older serial is then refused as stale."""
        state.serial = max(state.serial, self._serial) + 1
        self.write(state)

    def rotate(self, state: State, key: StateKey) -> None:
        """Write a state re-keyed to `key` as the next version, then make `key` the stored key (recoverable in between)."""
        state.serial = max(state.serial, self._serial) + 1
        self.store.save(key, next=True)
        self.inner.write(state)
        self._serial = state.serial
        self.store.promote()
        self._key = key

    def lock(self, operation: str, timeout: float) -> LockInfo:
        return self.inner.lock(operation, timeout)

    def unlock(self, info: LockInfo) -> None:
        self.inner.unlock(info)

    def force_unlock(self, lock_id: str) -> None:
        self.inner.force_unlock(lock_id)

    def delete(self) -> None:
        self.inner.delete()
        if ENV not in os.environ:
            self.store.delete()

    def describe(self) -> str:
        return self.inner.describe()


def keyed(backend: Backend) -> KeyedBackend:
    """The backend with the key store that belongs beside it."""
    from .backends.local import LocalBackend

    if isinstance(backend, LocalBackend):
        return KeyedBackend(backend, LocalKeyStore(backend.target))  # beside the file a symlink leads to
    s3, bucket, key = getattr(backend, "s3"), getattr(backend, "bucket"), getattr(backend, "key")
    return KeyedBackend(backend, S3KeyStore(s3, bucket, key))

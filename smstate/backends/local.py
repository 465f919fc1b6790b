"""The local backend: `state/<workspace>.json`, written atomically, locked by a lock file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import LockError, StateError, StateWriteError
from ..files import read_regular_text
from ..state import State
from . import LockInfo, held_message, wait_for_lock


class LocalBackend:
    """A statefile on disk. Writes are atomic and durable; the previous file is kept as `.backup`.

    A statefile that is a symlink is written through: the new file replaces the link's target,
    and the backup and the lock sit beside the target. Replacing the link itself would split
    the state in two, the link's target going stale while smstate records elsewhere.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._made: list[Path] = []
        """The directories `lock` created, deepest first: `unlock` removes those still empty."""

    @property
    def target(self) -> Path:
        """The file the statefile's name leads to (itself unless it is a symlink)."""
        return Path(os.path.realpath(self.path)) if self.path.is_symlink() else self.path

    @property
    def lock_path(self) -> Path:
        target = self.target
        return target.with_name(target.name + ".lock")

    @property
    def backup_path(self) -> Path:
        target = self.target
        return target.with_name(target.name + ".backup")

    def describe(self) -> str:
        return str(self.path)

    def read(self) -> State | None:
        try:
            text = read_regular_text(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc.strerror}; the file was left untouched") from None
        except UnicodeDecodeError:
            raise StateError(f"{self.path} is not a statefile (not UTF-8 text); the file was left untouched") from None
        return State.loads(text, str(self.path))

    def write(self, state: State) -> None:
        target = self.target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, state.dumps().encode(), keep=self.backup_path)
        except OSError as exc:
            raise StateWriteError(f"cannot write the state to {target}: {exc.strerror or exc}") from None

    def delete(self) -> None:
        for path in (self.path, self.backup_path):
            path.unlink(missing_ok=True)

    def lock(self, operation: str, timeout: float) -> LockInfo:
        info = LockInfo.new(operation)
        missing = [d for d in (self.lock_path.parent, *self.lock_path.parent.parents) if not d.exists()]
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._made = missing
        except OSError as exc:
            raise LockError(f"cannot create the state directory {self.lock_path.parent}: {exc.strerror}") from None
        wait_for_lock(lambda: self._take(info), timeout, self._held_message, 0.1)
        return info

    def _take(self, info: LockInfo) -> bool:
        """Create the lock file if there is none, holding `info`."""
        try:
            fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        except OSError as exc:
            raise LockError(f"cannot create the lock file {self.lock_path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(info.to_json(), handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # a full disk: never leave a half-written lock behind
            self.lock_path.unlink(missing_ok=True)
            raise LockError(f"cannot write the lock file {self.lock_path}: {exc.strerror or exc}") from None
        return True

    def unlock(self, info: LockInfo) -> None:
        held = self._holder()
        if held is not None and held.id == info.id:
            self.lock_path.unlink(missing_ok=True)
        for directory in self._made:  # a command that wrote nothing leaves no empty state directory behind
            try:
                directory.rmdir()
            except OSError:
                break  # not empty (the state was written) or not ours to remove
        self._made = []

    def force_unlock(self, lock_id: str) -> None:
        held = self._holder()
        if not self.lock_path.exists():
            raise LockError(f"the state at {self.path} is not locked")
        if held is not None and held.id != lock_id:
            raise LockError(f"lock ID {lock_id!r} does not match the lock held ({held.describe()})")
        if held is None and lock_id != "unreadable":
            raise LockError(f"the lock file {self.lock_path} is unreadable; run `smstate force-unlock unreadable` to remove it")
        if self.lock_path.is_dir() and not self.lock_path.is_symlink():
            raise LockError(f"{self.lock_path} is a directory, not a lock file; smstate does not remove it: check it and remove it yourself")
        try:
            self.lock_path.unlink(missing_ok=True)
        except OSError as exc:
            raise LockError(f"cannot remove the lock file {self.lock_path}: {exc.strerror}") from None

    def _holder(self) -> LockInfo | None:
        try:
            data = json.loads(read_regular_text(self.lock_path))
            return LockInfo(**{k: data[k] for k in LockInfo.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _held_message(self) -> str:
        unreadable = f"the state is locked by {self.lock_path}, which is unreadable; if no smstate is running, run `smstate force-unlock unreadable`"
        return held_message(self._holder(), unreadable)


def _atomic_write(path: Path, data: bytes, keep: Path | None = None) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory; mode 0600.

    With `keep`, the file being replaced becomes `keep` first, by a hard link (files are
    never changed in place, so the link is the old content and costs no copy); `path`
    itself always exists, holding the old content or the new.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if keep is not None:
            _link_previous(path, old, keep)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        old.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _link_previous(path: Path, old: Path, keep: Path) -> None:
    old.unlink(missing_ok=True)
    try:
        os.link(path, old)
    except FileNotFoundError:
        return
    except OSError:  # a filesystem without hard links: copy
        _atomic_write(keep, path.read_bytes())
        return
    os.replace(old, keep)

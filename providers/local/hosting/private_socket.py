"""Where a model server of the process runtime listens: a Unix socket only its owner can reach.

A loopback TCP port keeps the network out but not the other users of the machine:
any of them could invoke a model (or ``/ping`` it) directly, past the local server's
check of who is connecting. A Unix socket is guarded by the file system instead:
it is made in a directory of mode 0700 owned by the local server's user, and is
itself 0600, so ``connect`` fails with EACCES for anyone else before the model
server sees a byte. The check costs nothing per request or per connection, and a
Unix socket has no Nagle algorithm to wait on (TCP_NODELAY has nothing to turn off).

``sun_path`` holds at most 107 bytes and an instance's directory (home, endpoint
and variant names) can be longer, so a long path is reached through an ``O_PATH``
descriptor of its directory, ``/proc/self/fd/N/<name>``, for both bind and connect.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

from providers.local.hosting.errors import HostingError

#: Longest socket path the kernel takes (``sun_path`` is 108 bytes with the NUL).
MAX_PATH_BYTES = 107


def private_directory(directory: Path) -> Path:
    """Create `directory` (mode 0700) or make an existing one 0700; refuse one that is
    not a real directory owned by this user."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise HostingError(f"{directory} is not a directory of this user: cannot put a model server's socket there")
    os.chmod(directory, 0o700)
    return directory


class PrivateSocket:
    """The path of one model server's socket, in a 0700 directory (created here)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = private_directory(directory) / name
        self._dir_fd: int | None = None
        if len(os.fsencode(self.path)) > MAX_PATH_BYTES:
            self._dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    @property
    def address(self) -> str:
        """What to bind or connect to: the path, or a short alias of it."""
        if self._dir_fd is None:
            return str(self.path)
        return f"/proc/self/fd/{self._dir_fd}/{self.path.name}"

    def listen(self) -> socket.socket:
        """A listening socket at the path, mode 0600; on failure the address is closed.

        A stale file there is replaced, but never a socket another model server still
        listens on: taking its path would send that server's new connections here."""
        address = self.address
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if _listened_on(address):
                raise HostingError(f"another model server already listens at {self.path}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
            sock.bind(address)
            os.chmod(address, 0o600)
            sock.listen(1024)
        except BaseException:
            sock.close()
            self.close()
            raise
        return sock

    def close(self) -> None:
        """Release the directory's descriptor (a long path's address is unusable
        afterwards); calling it again does nothing."""
        if self._dir_fd is not None and self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1


def _listened_on(address: str) -> bool:
    """Whether a socket at `address` accepts connections."""
    try:
        if not stat.S_ISSOCK(os.lstat(address).st_mode):
            return False
    except FileNotFoundError:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        try:
            probe.connect(address)
        except BlockingIOError:  # its backlog is full: it listens
            return True
        except OSError:  # refused: nobody listens any more
            return False
    return True

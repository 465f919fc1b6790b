"""Reading the files a user names (var files, plan files, statefiles, request bodies, locks).

Only regular files are read: a FIFO would block the open or the read forever, and /dev/zero
or another device would be read until memory runs out. Anything else is an OSError, so the
callers' one error line ("cannot read X: not a regular file") covers it with no new case.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_regular(path: Path | str) -> bytes:
    """The bytes of a regular file (a symlink to one is followed); OSError for anything else."""
    # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return handle.read()


def read_regular_text(path: Path | str) -> str:
    """`read_regular` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_regular(path).decode()

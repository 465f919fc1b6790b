"""The thread pool provider calls run in, which an interrupt never waits for.

A worker can sit in a socket read of a hung API until botocore's read timeout, minutes away.
When the block ends by an exception (an interrupt), or the executor abandons the calls in
flight, the pool is shut down without joining its threads; the CLI then exits without them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Literal


class Workers(ThreadPoolExecutor):
    """`with Workers(n) as pool:` as a ThreadPoolExecutor, but an exception does not wait for the threads."""

    abandoned = False

    def abandon(self) -> None:
        """Stop waiting for the calls in flight: queued ones are cancelled, running ones left behind."""
        self.abandoned = True
        self.shutdown(wait=False, cancel_futures=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> Literal[False]:
        if exc_type is not None:
            self.abandon()
        self.shutdown(wait=not self.abandoned)
        return False

"""Who may stop the local server: signals from its model servers are ignored.

Model servers run in sessions of their own, so a signal sent to the local server's
process group never reaches them; but a model can still signal the server by pid
(``os.kill(os.getppid(), SIGTERM)``). To tell who sent a signal, the server blocks
its stop signals in every thread before any thread starts, and one thread takes them
with ``sigwaitinfo``, whose ``si_pid`` names the sender. A signal from a model server,
or from a process in a model server's session or process group, is logged and
ignored; any other stops the server as before: the first gracefully, a second at once.

uvicorn installs its own handlers with ``signal.signal``; they never run, because the
signals stay blocked and are consumed by ``sigwaitinfo`` instead. Children inherit the
blocked mask, so the model server unblocks the signals first thing.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from providers.local.hosting.runtime import is_model_process

log = logging.getLogger("smstate.local")

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def block_stop_signals() -> None:
    """Block the stop signals in this thread and every thread started after it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def watch_stop_signals(stop: Callable[[bool], None]) -> threading.Thread:
    """Take the blocked stop signals on a thread: ``stop(force)`` for any sender but a model."""

    def wait() -> None:
        stopping = False
        while True:
            info = signal.sigwaitinfo(STOP_SIGNALS)
            name = signal.Signals(info.si_signo).name
            if info.si_pid and is_model_process(info.si_pid):
                log.warning("ignored %s sent by model server process %d", name, info.si_pid)
                continue
            log.info("stopping on %s from pid %d", name, info.si_pid)
            stop(stopping)
            stopping = True

    thread = threading.Thread(target=wait, daemon=True, name="stop-signals")
    thread.start()
    return thread

"""A warm parent for model servers: it imports the serving stack once, then forks one model
server per request, so a new instance skips the imports (as gunicorn's preload does).

    python fork_server.py --control FD

Like ``model_server.py`` it needs only the standard library and runs by path under the
model's Python. It is started with the environment a model server gets when its model
sets nothing (no variable of the local server's own), with the stop signals blocked:
a model that signals its parent reaches this process and changes nothing.

The control socket is a Unix ``SOCK_SEQPACKET`` socket, one message per request or
reply, each a JSON object:

- request: ``{"argv": [...], "env": {...}, "cwd": "..."}`` with two descriptors attached,
  the model server's listening socket and its log file;
- replies: ``{"ready": true}`` once the imports are done, ``{"pid": N}`` for each request,
  then ``{"exit": N, "code": C}`` when that child ends (``C`` negative for a signal, as
  ``subprocess`` reports it).

Each child leads a session of its own, takes the request's environment and working
directory, writes to its log, and runs ``model_server.main`` with the request's
arguments plus ``--fd`` and ``--parent-pid`` (this process: when it goes, so do its
children). The parent exits when the control socket closes.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

PRELOAD = ("numpy", "uvicorn", "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.http.httptools_impl",
           "uvicorn.loops.uvloop", "joblib", "sklearn.linear_model", "sklearn.tree", "sklearn.ensemble")
"""What model servers import: the serving stack, and the libraries of SageMaker's scikit-learn
framework container, each only if this Python has it."""
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
MESSAGE = 1024 * 1024


def preload() -> Any:
    """The model server module, with everything it and common models import already loaded."""
    for name in PRELOAD:
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                importlib.import_module(name)
        except Exception:  # a broken optional library is the model's concern, not the parent's
            pass
    spec = importlib.util.spec_from_file_location("model_server", Path(__file__).with_name("model_server.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_server"] = module
    spec.loader.exec_module(module)
    return module


def serve(control: socket.socket, model_server: Any) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    control.send(json.dumps({"ready": True}).encode())
    while True:
        ready, _, _ = select.select([control.fileno(), wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 4096)
            reap(control)
        if control.fileno() in ready:
            message, fds, _, _ = socket.recv_fds(control, MESSAGE, 2)
            if not message:
                return
            try:
                pid = spawn(json.loads(message), fds, model_server, (control.fileno(), wake_read, wake_write))
            finally:
                for fd in fds:
                    os.close(fd)
            control.send(json.dumps({"pid": pid}).encode())
            reap(control)


def reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def spawn(request: dict[str, Any], fds: list[int], model_server: Any, own: tuple[int, ...]) -> int:
    listener, log = fds
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in own:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv = [*request["argv"], "--fd", str(listener), "--parent-pid", str(parent)]
        sys.argv = [str(Path(model_server.__file__)), *argv]
        code = model_server.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--control", type=int, required=True)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    control = socket.socket(fileno=args.control)
    serve(control, preload())


if __name__ == "__main__":
    main()

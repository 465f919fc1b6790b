"""Managing a background local server: start on demand, status, stop, logs.

Import-light on purpose (standard library only): the smstate CLI calls these on
every command that targets the local provider.

A server is recognised by its `GET /ping` answer, which names its pid, runtime
and home. Starting one runs `python -m providers.local serve` in its own session
(so a Ctrl-C in the terminal does not reach it) with output appended to
`<home>/server.log`, then waits until it answers. Stopping sends SIGTERM and
waits: the server stops its model servers itself before it exits, so no process
is left behind. `stop` stops the server at its URL and no other: the pid comes
from that server's `/ping`, or, when it no longer answers, from the record in
its home (`server.pid`: pid and url) if the record names that URL; either way
the process is signalled only if it holds the socket listening at that URL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from providers.local.peers import listener_inode
from providers.local.settings import connection_limits, is_loopback, make_home, resolve_home, split_url, time_scale

STOP_TIMEOUT = 30.0


class DaemonError(Exception):
    """The local server could not be reached, started or stopped as asked."""


def log_path(home: Path | None = None) -> Path:
    return resolve_home(home) / "server.log"


def pid_path(home: Path | None = None) -> Path:
    return resolve_home(home) / "server.pid"


def ping(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The server's `/ping` answer; None if nothing listens at `url`.

    Raises `DaemonError` if something that is not a local SageMaker answers."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/ping", timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 403 and exc.headers.get("x-amzn-ErrorType") == "AccessDeniedException":
            raise DaemonError(f"the local SageMaker at {url} belongs to another user") from None
        raise DaemonError(f"{url} is taken by something that is not the local SageMaker (HTTP {exc.code})") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("status") != "Healthy" or "runtime" not in info:
        raise DaemonError(f"{url} is taken by something that is not the local SageMaker")
    return info


def ensure_running(
    url: str,
    home: Path | None = None,
    runtime: str = "process",
    python: str | None = None,
    timeout: float = 30.0,
    s3_endpoint_url: str | None = None,
) -> None:
    """Make sure a local server answers at `url`, starting one if none does
    (with `s3_endpoint_url`: an S3 URL, or `local` to start a local S3)."""
    host, port = split_url(url)
    time_scale()  # malformed settings fail here, before anything is started or asked
    info = ping(url)
    if info is not None:
        _check_compatible(url, info, home, runtime, s3_endpoint_url)
        return
    connection_limits()  # malformed settings fail here, not in the server's log
    if not is_loopback(host):
        raise DaemonError(f"the local SageMaker runs on loopback addresses only; cannot start one at {url}")
    home = resolve_home(home)
    try:
        make_home(home)
        log = _open_log(log_path(home))
    except OSError as exc:
        raise DaemonError(f"cannot start the local SageMaker: cannot write its home {home}: {exc.strerror}") from None
    command = [sys.executable, "-m", "providers.local", "serve", "--host", host, "--port", str(port),
               "--home", str(home), "--runtime", runtime]  # fmt: skip
    if python:
        command += ["--python", python]
    if s3_endpoint_url:
        command += ["--s3-endpoint-url", s3_endpoint_url]
    env = server_environment(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DaemonError(f"the local SageMaker exited at start: {_start_failure(log_path(home))}")
        info = ping(url, timeout=1.0)
        if info is not None:
            _check_compatible(url, info, home, runtime, s3_endpoint_url)
            return
        time.sleep(0.1)
    raise DaemonError(f"the local SageMaker did not answer at {url} within {timeout:g} s; see {log_path(home)}")


def _open_log(path: Path) -> IO[bytes]:
    """The server's log, appended to and readable by its user alone (0600): requests can show in it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def _check_compatible(url: str, info: dict[str, Any], home: Path | None, runtime: str, s3: str | None) -> None:
    if info.get("runtime") != runtime:
        raise DaemonError(
            f"the local SageMaker at {url} runs the {info.get('runtime')} runtime, not {runtime}; "
            "stop it first (python -m providers.local stop)"
        )
    if s3 and (not info.get("s3") or (s3 != "local" and info.get("s3") != s3)):
        raise DaemonError(
            f"the local SageMaker at {url} uses S3 at {info.get('s3') or 'AWS'}, not {s3}; "
            "stop it first (python -m providers.local stop)"
        )
    if home is not None and Path(str(info.get("home"))) != resolve_home(home):
        raise DaemonError(f"the local SageMaker at {url} keeps its registry in {info.get('home')}, not {home}")


def status(url: str, home: Path | None = None) -> dict[str, Any]:
    """`running` plus, for a running server, what its `/ping` tells."""
    info = ping(url)
    result: dict[str, Any] = {"url": url, "running": info is not None, "log": str(log_path(home))}
    if info is not None:
        result.update({k: info[k] for k in ("pid", "runtime", "home", "python", "s3") if k in info})
        result["log"] = str(Path(str(info.get("home"))) / "server.log")
    return result


def stop(url: str, home: Path | None = None, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the server at `url`; False if none ran there."""
    host, port = split_url(url)
    time_scale()  # malformed settings fail here, before anything is started or asked
    info = ping(url)
    pid = int(info["pid"]) if info is not None else _recorded_pid(home, url)
    if pid is None:
        return False
    if not _listens_at(pid, host, port):
        if info is None:
            return False
        raise DaemonError(f"the server at {url} names pid {pid}, which does not listen at {url}; not signalling it")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    raise DaemonError(f"the local SageMaker (pid {pid}) did not stop within {timeout:g} s")


def _recorded_pid(home: Path | None, url: str) -> int | None:
    """The pid recorded in `home` by the server at `url`, if that is the server it records."""
    try:
        record = json.loads(pid_path(home).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    try:
        same = split_url(str(record.get("url"))) == split_url(url)
    except ValueError:
        return None
    return record["pid"] if same else None


def _listens_at(pid: int, host: str, port: int) -> bool:
    """True if process `pid` holds the socket listening on `host:port`."""
    inode = listener_inode("127.0.0.1" if host == "localhost" else host, port)
    if inode is None:
        return False
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    wanted = f"socket:[{inode}]"
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                return True
        except OSError:
            continue
    return False


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_failure(path: Path) -> str:
    """The server's own one-line reason (its last `Error:` line), so the user still sees one `Error:` line;
    the log is shared by every server of a home, so the rest of its tail may be another server's."""
    reasons = [line for line in _tail(path).splitlines() if line.startswith("Error: ")]
    return f"{reasons[-1].removeprefix('Error: ')} (see {path})" if reasons else f"see {path}"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


#: What smstate holds for itself and the server never needs: a model running as the same user
#: could read the server's environment from /proc, so these never enter it.
PRIVATE_PREFIXES = ("SMSTATE_VAR_", "SMSTATE_STATE_KEY")


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the server starts with: the caller's, without smstate's variables and state key."""
    return {k: v for k, v in environ.items() if not k.startswith(PRIVATE_PREFIXES)}

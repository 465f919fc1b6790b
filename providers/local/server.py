"""Running the local SageMaker in the foreground.

One asyncio process serves both APIs on a loopback address (anything else is
refused: the server checks no signatures, so it must not be reachable from the
network), and only to the user who started it (`connections`: the peer uid of
every connection; the server will not start where that cannot be known). One
server owns a home directory at a time; it holds `<home>/server.lock` for its
whole life and records its pid and url in `<home>/server.pid` for `stop`;
`GET /ping` tells its pid, url, runtime, home and S3 endpoint (`s3`: see
`providers.local.s3`; with `--s3-endpoint-url local` it starts a local S3 when the
environment names none, and stops it on exit). On SIGTERM or SIGINT it stops
every model server before exiting, so nothing is left running.

The listening socket is made here, with TCP_NODELAY set (accepted sockets inherit
it; asyncio sets it again on each transport): without it every response would
stall ~40 ms on the delayed ACK. Connections are kept alive for 75 s, past the
idle time of boto3's connection pool; a request must arrive whole within 20 s;
the number of open connections is capped below the file-descriptor limit, which
is raised to its hard ceiling at start (settings: `SMSTATE_LOCAL_KEEP_ALIVE`,
`SMSTATE_LOCAL_REQUEST_TIMEOUT`, `SMSTATE_LOCAL_MAX_CONNECTIONS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import uvicorn

from providers.local import s3, s3_server, settings
from providers.local.app import App
from providers.local.aws_services import AwsServices
from providers.local.connections import Guard, protocol
from providers.local.controlplane import ControlPlane
from providers.local.fleet import Instance
from providers.local.lifecycle import Endpoints
from providers.local.peers import PeerLookupUnavailable, check_available
from providers.local.registry import Registry
from providers.local.runtime import Gateway
from providers.local.settings import HOME_ENV, RUNTIMES, is_loopback, make_home
from providers.local.signals import block_stop_signals, watch_stop_signals
from smstate.shapes import service_model

log = logging.getLogger("smstate.local")

#: A server that was asked to stop says so in this file until its lock is released.
STOPPING_FILE = "server.stopping"
STOPPING_WAIT_SECONDS = 30.0


class ServerError(Exception):
    """The server cannot start; the message says why."""


def bind(host: str, port: int) -> socket.socket:
    if not is_loopback(host):
        raise ServerError(f"the local server listens on loopback addresses only, not {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def lock_home(home: Path) -> IO[str]:
    """Hold `<home>/server.lock`; wait for a server that is stopping to let it go.

    A lock left by a dead server is free (the kernel drops it with the process);
    one held by a server that was asked to stop (`server.stopping` names it) is
    waited for, so a command right after a `stop` starts the next server.
    """
    make_home(home)
    handle = open(home / "server.lock", "a+")  # noqa: SIM115 - held for the process's life
    deadline = time.monotonic() + STOPPING_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if not _stopping(home) or time.monotonic() > deadline:
                handle.close()
                raise ServerError(f"another local server is already using {home}") from None
            time.sleep(0.1)
    with contextlib.suppress(FileNotFoundError):
        (home / STOPPING_FILE).unlink()
    return handle


def _stopping(home: Path) -> bool:
    """Whether the server holding the home's lock said it is stopping."""
    try:
        pid = int((home / STOPPING_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def build_app(home: Path, runtime: str, python: str | None, url: str) -> App:
    from providers.local.hosting import start_instance, warm
    from providers.local.hosting.runtime import container_environment

    async def starter(model: dict[str, Any], workdir: Path, memory: int | None) -> Instance:
        return await start_instance(model, workdir, runtime=runtime, python=python, memory=memory)

    make_home(home)
    registry = Registry(home)
    registry.load()
    workdir = home / "instances"
    shutil.rmtree(workdir, ignore_errors=True)
    endpoints = Endpoints(registry, starter, workdir)
    services = AwsServices(endpoints, home)
    info = {"pid": os.getpid(), "url": url, "runtime": runtime, "python": python or sys.executable,
            "home": str(home), "s3": s3.endpoint_url()}  # fmt: skip

    warming: list[asyncio.Task[Any]] = []

    async def startup() -> None:
        if runtime == "process":  # the warm parent imports the serving stack while the server starts
            warming.append(asyncio.create_task(warm.parent_for(python, container_environment({}))))
        service_model()  # parsed once now rather than on the first request
        gc.freeze()  # and left out of every later collection: it lives as long as the server
        (home / "server.pid").write_text(json.dumps({"pid": os.getpid(), "url": url}) + "\n")
        endpoints.restore()
        services.start()
        log.info("local SageMaker listening on %s (runtime %s, home %s)", url, runtime, home)

    async def shutdown() -> None:
        await services.stop()
        await gateway.queue.shutdown()
        await endpoints.shutdown()
        await warm.stop_all()
        with contextlib.suppress(FileNotFoundError):
            (home / "server.pid").unlink()
        log.info("local SageMaker stopped")

    gateway = Gateway(endpoints, services.metrics)
    return App(ControlPlane(registry, endpoints), gateway, info, startup, shutdown, services.dispatcher)


def front_door() -> Guard:
    """The connection rules from the environment; `ServerError` if they are
    wrong or if the server could not tell its owner's connections from others'."""
    try:
        check_available()
        request_timeout, _, wanted = settings.connection_limits()
        settings.time_scale()
    except (PeerLookupUnavailable, ValueError) as exc:
        raise ServerError(str(exc)) from None
    return Guard(os.geteuid(), request_timeout, min(wanted, max(16, raise_fd_limit() // 2)))


def raise_fd_limit() -> int:
    """Lift the soft file-descriptor limit to the hard one; the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def server_config(app: App, guard: Guard) -> uvicorn.Config:
    """uvicorn's settings: the guarded protocol, no access log, keep-alive from settings."""
    return uvicorn.Config(
        app,
        http=protocol(guard),
        ws="none",  # nothing here speaks WebSocket; an upgrade must not bypass the guard
        lifespan="on",
        access_log=False,
        log_level="warning",
        proxy_headers=False,  # the peer is who connected, never what a header claims
        timeout_keep_alive=max(1, round(settings.connection_limits()[1])),
        timeout_graceful_shutdown=15,
        server_header=False,
    )


#: The S3 the server uses: an endpoint URL, `LOCAL_S3` (start one unless the
#: environment names one), or None (boto3's own resolution).
S3Choice = str | None
LOCAL_S3 = "local"


def serve(
    host: str, port: int, home: Path, runtime: str = "process", python: str | None = None, s3_endpoint: S3Choice = None
) -> None:
    """Run the server until SIGTERM/SIGINT. Raises `ServerError` if it cannot start."""
    if runtime not in RUNTIMES:
        raise ServerError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    os.environ[HOME_ENV] = str(home)  # the hosting layer caches artifacts under it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    guard = front_door()
    lock = lock_home(home)
    local_s3 = _use_s3(s3_endpoint, home)
    block_stop_signals()  # before any thread starts: see providers.local.signals
    sock = bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    app = build_app(home, runtime, python, f"http://{shown_host}:{sock.getsockname()[1]}")
    config = server_config(app, guard)
    server = uvicorn.Server(config)
    watch_stop_signals(lambda force: _stop(server, home, force))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if local_s3 is not None:
            s3_server.stop(local_s3)
        lock.close()


def _use_s3(choice: S3Choice, home: Path) -> subprocess.Popen[bytes] | None:
    """Point this process's boto3 at the chosen S3; the local S3's process if one was started."""
    if choice is None or (choice == LOCAL_S3 and s3.endpoint_url()):
        return None
    if choice != LOCAL_S3:
        os.environ["AWS_ENDPOINT_URL_S3"] = choice
        return None
    try:
        url, process = s3_server.start(home / "s3.log")
    except s3_server.LocalS3Error as exc:
        raise ServerError(str(exc)) from None
    os.environ["AWS_ENDPOINT_URL_S3"] = url
    log.info("local S3 (moto) listening on %s", url)
    return process


def _stop(server: uvicorn.Server, home: Path, force: bool) -> None:
    """What uvicorn's own signal handler does: stop gracefully, or at once when forced."""
    with contextlib.suppress(OSError):
        (home / STOPPING_FILE).write_text(f"{os.getpid()}\n")
    server.should_exit = True
    server.force_exit = server.force_exit or force

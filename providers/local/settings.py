"""Where the local SageMaker lives and how fast its clock runs.

Kept free of heavy imports: the CLI and the daemon helpers read these values on
every invocation, long before (or without ever) starting a server.
"""

from __future__ import annotations

import ipaddress
import math
import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"

#: Every ARN the local server mints carries this account, like moto's default.
ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"

RUNTIMES = ("process", "docker")

HOME_ENV = "SMSTATE_LOCAL_HOME"
TIME_SCALE_ENV = "SMSTATE_LOCAL_TIME_SCALE"


def resolve_home(home: Path | str | None = None) -> Path:
    """The registry directory: the argument, else `$SMSTATE_LOCAL_HOME`, else
    `~/.smstate/local`. Always absolute, so a server started from another
    directory finds the same registry."""
    if home is None:
        home = os.environ.get(HOME_ENV) or Path.home() / ".smstate" / "local"
    return Path(home).expanduser().resolve()


def make_home(home: Path) -> Path:
    """Create the home (registry, artifacts, log, credentials) readable by its user alone: 0700,
    also when it already existed with a looser mode."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    return home


def time_scale() -> float:
    """Factor applied to every wait a deployment policy asks for.

    Policies keep their real values (what the user wrote is what DescribeEndpoint
    shows); only the wall-clock time spent waiting shrinks, so tests can run a
    300-second canary bake in three seconds with `SMSTATE_LOCAL_TIME_SCALE=0.01`.
    ValueError naming the variable when it is not a finite number of 0 or more.
    """
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{TIME_SCALE_ENV} must be a finite number of 0 or more (1 is real time), not {raw!r}")
    return value


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: the only places we listen."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_url(url: str) -> tuple[str, int]:
    """Host and port of a local server URL such as `http://127.0.0.1:8765`."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if parts.scheme not in ("http", ""):
        raise ValueError(f"the local server speaks plain http, not {parts.scheme!r}: {url}")
    if not parts.hostname:
        raise ValueError(f"no host in local server URL {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid local server URL {url!r}: the port must be a number from 1 to 65535") from None
    return parts.hostname, port or 80


REQUEST_TIMEOUT_ENV = "SMSTATE_LOCAL_REQUEST_TIMEOUT"
KEEP_ALIVE_ENV = "SMSTATE_LOCAL_KEEP_ALIVE"
MAX_CONNECTIONS_ENV = "SMSTATE_LOCAL_MAX_CONNECTIONS"

#: Seconds a client has to send a whole request once it connected or started one.
REQUEST_TIMEOUT = 20.0
#: Seconds an idle keep-alive connection stays open: past boto3's pool idle time.
KEEP_ALIVE = 75.0
#: Open connections at most (lowered to half the file-descriptor limit if that is less).
MAX_CONNECTIONS = 10000


def duration(name: str, default: float) -> float:
    """A finite, positive number of seconds from the environment variable `name`."""
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number of seconds above 0, not {raw!r}")
    return value


def count(name: str, default: int) -> int:
    """A positive whole number from the environment variable `name`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number above 0, not {raw!r}")
    return int(raw)


def connection_limits() -> tuple[float, float, int]:
    """Request timeout, keep-alive and connection cap from the environment;
    ValueError naming the variable when one is malformed."""
    return (
        duration(REQUEST_TIMEOUT_ENV, REQUEST_TIMEOUT),
        duration(KEEP_ALIVE_ENV, KEEP_ALIVE),
        count(MAX_CONNECTIONS_ENV, MAX_CONNECTIONS),
    )

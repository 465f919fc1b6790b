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


def time_scale() -> float:
    """Factor applied to every wait a deployment policy asks for.

    Policies keep their real values (what the user wrote is what DescribeEndpoint
    shows); only the wall-clock time spent waiting shrinks, so tests can run a
    300-second canary bake in three seconds with `SMSTATE_LOCAL_TIME_SCALE=0.01`.
    """
    raw = os.environ.get(TIME_SCALE_ENV, "")
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        return 1.0
    return value if math.isfinite(value) and value >= 0 else 1.0


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
    return parts.hostname, parts.port or 80

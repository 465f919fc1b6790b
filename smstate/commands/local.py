"""`smstate local ...` and `smstate invoke`: the local server and the runtime API.

The local server's process management lives with the server (`python -m providers.local`);
this command runs it as a subprocess, so the core never imports the server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..config import ProviderSettings, check_local_url
from ..errors import SmstateError
from ..files import read_regular
from ..pipeline import Inputs, load, provider_for


def _settings(inputs: Inputs) -> ProviderSettings:
    try:
        return load(inputs).config.provider
    except SmstateError:
        return ProviderSettings()


def server(inputs: Inputs, action: str, url: str | None, extra: list[str]) -> int:
    settings = _settings(inputs)
    if url is not None:
        try:
            check_local_url(url)
        except ValueError as exc:
            raise SmstateError(f"--url: {exc}") from None
    command = [sys.executable, "-m", "providers.local", action, "--url", url or settings.url]
    if settings.home:
        command += ["--home", str(Path(settings.home).expanduser())]
    if action == "start":
        command += ["--runtime", settings.runtime] + (["--python", settings.python] if settings.python else [])
        if settings.s3_endpoint_url:  # after `extra`: a configured S3 wins over --local-s3
            extra = extra + ["--s3-endpoint-url", settings.s3_endpoint_url]
    return subprocess.call(command + extra)


def invoke(
    inputs: Inputs,
    endpoint: str,
    body: str,
    content_type: str,
    accept: str | None,
    variant: str | None,
    component: str | None = None,
    target_model: str | None = None,
) -> int:
    payload = _body(body)
    loaded = load(inputs)
    provider = provider_for(loaded)
    invoker = getattr(provider, "invoke", None)
    if invoker is None:
        raise SmstateError(f"the {loaded.config.provider.type} provider cannot invoke endpoints")
    extra = {k: v for k, v in (("component", component), ("target_model", target_model)) if v}
    data, returned_type, answered = invoker(endpoint, payload, content_type, accept, variant, **extra)
    if answered:
        sys.stderr.write(f"(answered by variant {answered}, {returned_type})\n")
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
    sys.stdout.flush()
    return 0


def _body(text: str) -> bytes:
    """`@FILE` reads a file, `-` reads standard input, anything else is the body itself."""
    if text == "-":
        return sys.stdin.buffer.read()
    if text.startswith("@"):
        try:
            return read_regular(text[1:])
        except OSError as exc:
            raise SmstateError(f"cannot read {text[1:]}: {exc.strerror}") from None
    return text.encode()

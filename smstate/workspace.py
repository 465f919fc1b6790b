"""A working directory: its config files, its selected workspace and its state backend."""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
from pathlib import Path

from .addresses import NAME_RE
from .backends import Backend
from .backends.local import LocalBackend
from .config import BackendSettings, Config
from .errors import ConfigError, Diagnostic, SmstateError, StateError
from .files import read_regular_text
from .statekey import KeyedBackend, keyed

CONFIG_FILE = "smstate.yaml"
CONFIG_GLOB = "*.smstate.yaml"


class Workspace:
    """The config directory (`-C`) and the workspace selected in it."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory).resolve()
        if not self.dir.is_dir():
            raise SmstateError(f"{directory} is not a directory")

    def config_files(self) -> list[tuple[str, str]]:
        """`smstate.yaml` and every `*.smstate.yaml` beside it, as (name, text)."""
        paths = sorted(p for p in self.dir.glob(CONFIG_GLOB) if p.is_file())
        main = self.dir / CONFIG_FILE
        if main.is_file():
            paths.insert(0, main)
        if not paths:
            raise SmstateError(f"no {CONFIG_FILE} or {CONFIG_GLOB} in {self.dir}")
        out = []
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SmstateError(f"cannot read {path}: {exc.strerror}") from None
            try:
                out.append((path.name, data.decode()))
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                raise ConfigError([Diagnostic(path.name, line, "", f"not UTF-8 text: {exc.reason} (byte {exc.start})")]) from None
        return out

    @property
    def _selection(self) -> Path:
        return self.dir / ".smstate" / "workspace"

    @property
    def name(self) -> str:
        env = os.environ.get("SMSTATE_WORKSPACE")
        if env:
            return env
        try:
            return read_regular_text(self._selection).strip() or "default"
        except OSError:
            return "default"

    def select(self, name: str) -> None:
        check_workspace_name(name)
        write_small_file(self._selection, name + "\n", "the selected workspace")

    @property
    def _backend_record(self) -> Path:
        return self.dir / ".smstate" / "backend.json"

    def recorded_backend(self) -> BackendSettings | None:
        """The backend last locked by a command (or read by `smstate init`), if any."""
        try:
            return BackendSettings.model_validate_json(read_regular_text(self._backend_record))
        except (OSError, ValueError):
            return None

    def record_backend(self, settings: BackendSettings) -> None:
        write_small_file(self._backend_record, settings.model_dump_json() + "\n", "the backend in use")

    def check_backend(self, config: Config) -> None:
        """A backend changed in the config without `init --migrate-state` would start an empty state.

        Only reads: the backend is recorded once a command has locked it (`remember_backend`),
        so a mistyped bucket never becomes the directory's backend."""
        recorded = self.recorded_backend()
        if recorded is not None and recorded != config.backend:
            raise SmstateError(
                "the backend in the config differs from the one in use; run `smstate init --migrate-state` "
                "to copy the state to it, or `smstate init --reconfigure` to use it without copying anything"
            )

    def remember_backend(self, config: Config | None) -> None:
        """Record the config's backend once a command has locked it (so it exists and answers).

        A directory whose record cannot be written still works; only a later change of backend
        in the config goes unnoticed, which the warning says."""
        settings = config.backend if config is not None else BackendSettings()
        if self.recorded_backend() == settings:
            return
        try:
            self.record_backend(settings)
        except SmstateError as exc:
            sys.stderr.write(f"Warning: {exc}; a later change of backend in the config will not be noticed\n")

    def state_dir(self, config: Config | None) -> Path:
        if config is not None and config.backend.path:
            return (self.dir / config.backend.path).parent
        return self.dir / "state"

    def backend(self, config: Config | None, workspace: str | None = None) -> KeyedBackend:
        return keyed(self._backend(config, workspace))

    def _backend(self, config: Config | None, workspace: str | None = None) -> Backend:
        name = workspace or self.name
        check_workspace_name(name)
        if config is not None and config.backend.type == "s3":
            settings = config.backend
            if not settings.bucket or not settings.key:
                raise SmstateError("backend type s3 needs bucket and key")
            from .backends.s3 import S3Backend

            key = settings.key if name == "default" else f"env:/{name}/{settings.key}"
            return S3Backend(settings.bucket, key, settings.region, settings.endpoint_url, settings.profile)
        if config is not None and config.backend.path and name == "default":
            return LocalBackend(self.dir / config.backend.path)
        return LocalBackend(self.state_dir(config) / f"{name}.json")

    def workspaces(self, config: Config | None) -> list[str]:
        if config is not None and config.backend.type == "s3":
            return self._s3_workspaces(config)
        found = {p.stem for p in self.state_dir(config).glob("*.json")}
        return sorted(found | {"default"})

    def _s3_workspaces(self, config: Config) -> list[str]:
        from .backends.s3 import S3Backend

        backend = self._backend(config, "default")
        assert isinstance(backend, S3Backend)
        found = {"default"}
        for key in backend.list_keys("env:/"):
            parts = key.split("/", 2)
            if len(parts) == 3 and parts[2] == config.backend.key:
                found.add(parts[1])
        return sorted(found)

    @functools.cached_property
    def _digests(self) -> dict[str, str | None]:
        return {}

    def digest(self, url: str) -> str | None:
        """SHA-256 of a local artifact's bytes (cached per run), or None when it is missing.

        Raises ValueError for anything but a regular file: reading /dev/zero or a FIFO would never end."""
        if url not in self._digests:
            self._digests[url] = _file_digest(Path(url.removeprefix("file://")))
        return self._digests[url]


def _file_digest(path: Path) -> str | None:
    try:
        # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"model artifact is not a regular file: {path}")
        sha = hashlib.sha256()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        except OSError:
            return None
        return sha.hexdigest()


MAX_WORKSPACE_NAME = 64
"""Workspace names become file names (`<name>.json.lock`) and S3 key parts: kept well under NAME_MAX."""


def check_workspace_name(name: str) -> None:
    if len(name) > MAX_WORKSPACE_NAME:
        raise SmstateError(f"invalid workspace name {name[:20]!r}...: at most {MAX_WORKSPACE_NAME} characters")
    if not NAME_RE.match(name):
        raise SmstateError(f"invalid workspace name {name!r}: use letters, digits, - and _")


def write_small_file(path: Path, text: str, what: str) -> None:
    """Write a bookkeeping file under `.smstate/`; failure is one clear error naming the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise SmstateError(f"cannot record {what} in {path}: {exc.strerror}") from None


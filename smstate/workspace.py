"""A working directory: its config files, its selected workspace and its state backend."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from .addresses import NAME_RE
from .backends import Backend
from .backends.local import LocalBackend
from .config import BackendSettings, Config
from .errors import ConfigError, Diagnostic, SmstateError

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
            return self._selection.read_text().strip() or "default"
        except OSError:
            return "default"

    def select(self, name: str) -> None:
        check_workspace_name(name)
        self._selection.parent.mkdir(parents=True, exist_ok=True)
        self._selection.write_text(name + "\n")

    @property
    def _backend_record(self) -> Path:
        return self.dir / ".smstate" / "backend.json"

    def recorded_backend(self) -> BackendSettings | None:
        """The backend `smstate init` last recorded, if any."""
        try:
            return BackendSettings.model_validate_json(self._backend_record.read_text())
        except (OSError, ValueError):
            return None

    def record_backend(self, settings: BackendSettings) -> None:
        self._backend_record.parent.mkdir(parents=True, exist_ok=True)
        self._backend_record.write_text(settings.model_dump_json() + "\n")

    def check_backend(self, config: Config) -> None:
        """A backend changed in the config without `init --migrate-state` would start an empty state."""
        recorded = self.recorded_backend()
        if recorded is None:
            self.record_backend(config.backend)
        elif recorded != config.backend:
            raise SmstateError(
                "the backend in the config differs from the one in use; run `smstate init --migrate-state` "
                "to copy the state to it (or `smstate init` after moving it yourself)"
            )

    def state_dir(self, config: Config | None) -> Path:
        if config is not None and config.backend.path:
            return (self.dir / config.backend.path).parent
        return self.dir / "state"

    def backend(self, config: Config | None, workspace: str | None = None) -> Backend:
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

        backend = self.backend(config, "default")
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
        """SHA-256 of a local artifact's bytes (cached per run), or None when it is missing."""
        if url not in self._digests:
            path = Path(url.removeprefix("file://"))
            try:
                sha = hashlib.sha256()
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        sha.update(block)
                self._digests[url] = sha.hexdigest()
            except (OSError, ValueError):
                self._digests[url] = None
        return self._digests[url]


def check_workspace_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise SmstateError(f"invalid workspace name {name!r}: use letters, digits, - and _")

"""Reading a module's config files from its directory, below the config's own."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError, Diagnostic
from .expand import ModuleFiles
from .workspace import CONFIG_FILE, CONFIG_GLOB


def module_reader(base: Path) -> ModuleFiles:
    """A module source is a directory relative to the config's; its files are named from there."""

    def files(source: str) -> list[tuple[str, str]]:
        directory = (base / source).resolve()
        paths = sorted(p for p in directory.glob(CONFIG_GLOB) if p.is_file()) if directory.is_dir() else []
        if (directory / CONFIG_FILE).is_file():
            paths.insert(0, directory / CONFIG_FILE)
        if not paths:
            raise LookupError(f"no {CONFIG_FILE} in {source}" if directory.is_dir() else f"no directory {source}")
        out = []
        for path in paths:
            name = f"{source}/{path.name}" if source != "." else path.name
            try:
                out.append((name, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError([Diagnostic(name, None, "", f"cannot read: {exc}")]) from None
        return out

    return files

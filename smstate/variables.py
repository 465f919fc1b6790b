"""Variable values: `--var`, then `--var-file`, then `SMSTATE_VAR_<NAME>`, then `default`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from .config import Config, Variable
from .errors import ConfigError, Diagnostic
from .values import mark


def resolve(
    config: Config,
    cli: Mapping[str, str],
    files: list[Mapping[str, Any]],
    env: Mapping[str, str],
) -> dict[str, Any]:
    """Every variable's value, typed; all missing or unknown variables are reported at once."""
    problems: list[Diagnostic] = []
    for name in cli:
        if name not in config.variables:
            problems.append(Diagnostic("--var", None, name, "no variable of that name is declared"))
    values: dict[str, Any] = {}
    for name, var in config.variables.items():
        found: Any = None
        raw = True
        if name in cli:
            found = cli[name]
        elif any(name in f for f in files):
            found = next(f[name] for f in reversed(files) if name in f)
            raw = False
        elif f"SMSTATE_VAR_{name}" in env:
            found = env[f"SMSTATE_VAR_{name}"]
        elif "default" in var.model_fields_set:
            found, raw = var.default, False
        else:
            problems.append(config.diagnostic(f"variables.{name}", (), "no value given (use --var, --var-file or SMSTATE_VAR_" + name + ")"))
            continue
        try:
            value = _coerce(var, found, raw)
        except ValueError as exc:
            problems.append(config.diagnostic(f"variables.{name}", (), str(exc)))
            continue
        if var.sensitive and isinstance(value, bool):
            problems.append(config.diagnostic(f"variables.{name}", (), "a bool cannot be sensitive: use a string"))
            continue
        values[name] = mark(value) if var.sensitive else value
    if problems:
        raise ConfigError(problems)
    return values


def _coerce(var: Variable, value: Any, raw: bool) -> Any:
    """Text from the command line or environment is parsed as YAML when the type asks for it."""
    if raw and var.type in ("number", "bool", "list", "map"):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ValueError(f"expected a {var.type}") from None
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,), "number": (int, float), "bool": (bool,), "list": (list,), "map": (dict,),
    }
    if var.type in expected and (
        not isinstance(value, expected[var.type]) or (var.type == "number" and isinstance(value, bool))
    ):
        shown = "a sensitive value" if var.sensitive else repr(value)
        raise ValueError(f"expected a {var.type}, got {shown}")
    return value

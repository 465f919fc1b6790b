"""`smstate drift`: refresh everything in state and report what changed outside smstate."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from .. import drift as drift_mod
from ..addresses import Address
from ..changes import Drift
from ..errors import ProviderError, SmstateError
from ..pipeline import Inputs, load, provider_for, read_state, refresh_lives, rekeyed
from ..plan import lifecycles, refresh
from ..provider import Provider
from ..render import drift_lines
from ..health import lines as health_lines
from ..health import reader, watched
from ..resources import KINDS, Tagging
from ..state import State
from ..workers import Workers
from .listing import listed_ids
from .run import err, out

FORMATS = ("text", "json", "markdown", "github")


def drift(inputs: Inputs, fmt: str, targets: list[str]) -> int:
    if fmt not in FORMATS:
        raise SmstateError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    wanted = {str(Address.parse(t)) for t in targets}
    loaded = load(inputs)
    backend = loaded.workspace.backend(loaded.config)
    state = rekeyed(loaded, read_state(backend))
    scoped = replace(state, resources={
        a: o for a, o in state.resources.items() if not wanted or a in wanted or str(Address.parse(a).block) in wanted
    })
    provider = provider_for(loaded)
    lives = refresh_lives(provider, scoped, inputs.parallelism)
    _, found = refresh(scoped, lives, lifecycles(loaded.config))
    if not wanted:
        found += drift_mod.unmanaged(state, _owned(provider, state.lineage, inputs.parallelism))
    entries = watched(scoped, reader(provider, lives), provider)
    _print(fmt, state, found, entries)
    code = 2 if found else 0
    if fmt == "github" and not _append_summary(found):
        return code or 1
    return code


def _append_summary(found: list[Drift]) -> bool:
    """Append the markdown report to `$GITHUB_STEP_SUMMARY`. A failure is one `Error:` line, and the exit
    code stays 2 when there is drift (CI must see the drift), else 1."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return True
    try:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(drift_mod.report_markdown(found))
    except OSError as exc:
        sys.stderr.write(f"Error: cannot append the drift summary to GITHUB_STEP_SUMMARY ({summary}): {exc.strerror}\n")
        return False
    return True


def _owned(provider: Provider, lineage: str, parallelism: int) -> list[drift_mod.Found]:
    """Every listed object with its tags; objects whose tags cannot be read are skipped with a warning."""
    listed = [
        (type_name, object_id, arn)
        for type_name in KINDS
        if KINDS[type_name].tags is not Tagging.NONE  # untagged objects cannot say whose they are
        for object_id, arn in listed_ids(provider, KINDS[type_name], "not checked for unmanaged objects")
    ]
    bulk: dict[str, dict[str, str]] = {}
    for type_name in (k for k in KINDS if KINDS[k].tags_readable):
        with contextlib.suppress(ProviderError):  # ListTags, one by one, still answers
            bulk.update(provider.tags_in_bulk([arn for k, _, arn in listed if k == type_name]))

    def tags(item: tuple[str, str, str]) -> drift_mod.Found | None:
        type_name, object_id, arn = item
        try:
            found = bulk.get(arn.lower())
            return type_name, object_id, found if found is not None else provider.tags_of(arn)
        except ProviderError as exc:
            err.print(f"[yellow]Warning:[/yellow] cannot read the tags of {object_id}, skipped: {exc}")
            return None

    with Workers(max_workers=max(1, parallelism)) as pool:
        return [found for found in pool.map(tags, listed) if found is not None]


def _print(fmt: str, state: State, found: list[Drift], entries: list[dict[str, Any]]) -> None:
    if fmt == "json":
        report = drift_mod.report_json(state, found)
        report.update({"watched": entries} if entries else {})  # only a state with alarms or scaling has any
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(drift_mod.report_markdown(found))
    elif fmt == "github":
        sys.stdout.write(drift_mod.report_github(found))
    elif found:
        out.print("[bold]Drift detected[/bold]: objects changed outside of smstate\n")
        out.print("\n".join(drift_lines(found)))
        out.print(f"\n{len(found)} object(s) drifted. Run `smstate plan` to see how apply would put them back, "
                  "or `smstate apply --refresh-only` to accept the live values.")
    else:
        out.print("[green]No drift.[/green] Every object matches the state.")
    if fmt == "text" and entries:
        out.print("\nAlarms and scaling now:\n" + "\n".join(health_lines(entries)), markup=False)

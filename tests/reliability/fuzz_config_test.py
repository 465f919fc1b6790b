"""Hostile and broken configs, generated: smstate either succeeds or says what is wrong, where.

Hypothesis builds valid configs (models, endpoint configs, endpoints, variables, outputs,
split over `smstate.yaml` and a `*.smstate.yaml`), then mutates them: wrong types, unknown
keys, dropped keys, bad references, dependency cycles, huge and unicode strings, and YAML
junk at the text level (truncation, stray characters, tabs, anchors, tags, bytes that are
not UTF-8). `validate` and `plan` run in this process (`smstate.cli.main`), against a
statefile applied to a moto server. Whatever the input:

- the exit code is 0, or 1 with at least one line and every line of stderr an `Error:` line
  (or its indented continuation);
- a problem found in the config names its file and line (`smstate.yaml:12: ...`);
- nothing prints a traceback;
- the statefile and its backup are byte-for-byte unchanged, and no lock is left behind.

The default run is derandomized (the same examples every run); the slow variant explores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import Result, cli_env, run_cli

from .harness import environ, main_in_process

ROLE = "arn:aws:iam::123456789012:role/fuzz"
NAMES = st.from_regex(r"[a-z](?:[a-z0-9-]{0,7}[a-z0-9])?", fullmatch=True)
SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./:", min_size=1, max_size=30)
UNICODE = st.text(min_size=0, max_size=40)
LOCATED = re.compile(r"^Error: (?P<file>[\w.-]*smstate\.yaml):(?P<line>\d+): ")
EXAMPLES = {"validate": 500, "plan": 100}


# -- valid configs ------------------------------------------------------------------------


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config: 1-3 models, each with a config and (maybe) an endpoint, variables and outputs."""
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    environment = st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), UNICODE, max_size=3)
    tags = st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), SAFE, max_size=2)
    models, endpoint_configs, endpoints = {}, {}, {}
    for name in names:
        models[name] = {
            "execution_role_arn": "${var.role}",
            "primary_container": {
                "image": draw(st.sampled_from(["${var.image}", "img:1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:2"])),
                "model_data_url": f"s3://bucket/{draw(SAFE)}",
                "environment": draw(environment),
            },
            "tags": draw(tags),
        }
        endpoint_configs[name] = {
            "production_variants": [{
                "variant_name": "primary", "model_name": f"${{models.{name}.name}}",
                "instance_type": draw(st.sampled_from(["ml.m5.large", "ml.c5.xlarge"])),
                "initial_instance_count": draw(st.integers(1, 4)),
            }],
        }  # fmt: skip
        if draw(st.booleans()):
            endpoints[name] = {"endpoint_config_name": f"${{endpoint_configs.{name}.name}}", "tags": draw(tags)}
    config: dict[str, Any] = {
        "variables": {
            "role": {"default": ROLE},
            "image": {"default": draw(st.sampled_from(["img:2", "repo/img:latest"]))},
            "token": {"default": draw(SAFE), "sensitive": True},
        },
        "models": models,
        "endpoint_configs": endpoint_configs,
    }
    if endpoints:
        config["endpoints"] = endpoints
    config["outputs"] = {f"out_{n}": f"${{models.{n}.name}}" for n in names[:1]}
    return config


# -- mutations ----------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, prefix + (i,))
    return out


def _parent(config: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    return node


WRONG = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(NAMES, st.integers(), max_size=2),
    UNICODE, st.text(min_size=1, max_size=1).map(lambda c: c * 100_000),
    st.sampled_from([
        "${models.nope.name}", "${var.nope}", "${models}", "${", "${}", "${models.x.name", "${var.role.extra}",
        "${endpoints.e.arn}", "$${var.role}", "${ var.role }", "${vpc_configs.nope}", "${models.*.name}",
        "\x00", "\u202e\u0000", "-" * 64, "a" * 64, "é" * 64,
    ]),
)  # fmt: skip


@st.composite
def tree_mutation(draw: st.DrawFn, config: dict[str, Any]) -> str:
    """Change one place in the tree; returns what was done, for the failure report."""
    paths = _paths(config)
    path = draw(st.sampled_from(paths))
    parent = _parent(config, path)
    action = draw(st.sampled_from(["wrong", "unknown-key", "drop", "cycle", "rename"]))
    if action == "wrong":
        parent[path[-1]] = draw(WRONG)
    elif action == "unknown-key":
        target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
        if isinstance(target, dict):
            target[draw(st.sampled_from(["bogus", "Image", "primaryContainer", "name ", "", "lifecycle", "depends_on"]))] = draw(WRONG)
    elif action == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "cycle" and config.get("endpoints"):
        name = next(iter(config["endpoints"]))
        config["models"][name]["primary_container"]["environment"]["LOOP"] = f"${{endpoints.{name}.name}}"
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["UPPER", "sp ace", "dot.ted", "ü", "a" * 70]))] = parent.pop(path[-1])
    return f"{action} at {path}"


JUNK = st.sampled_from(["\t", ":", ": :", "{", "}", "[", "]", "&a", "*a", "*nope", "!!python/object:os.system ", "!!binary ",
                        "%YAML 1.1\n", "---\n", "...\n", "? ", "- ", "|", ">", "'", '"', "#", "\x00", "\ufeff", "\x85",
                        "<<: *a\n", "@", "`", "  ", "\n  bogus: 1\n"])  # fmt: skip


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> bytes:
    """YAML junk: truncate, insert stray tokens, repeat or reindent a line, or break the encoding."""
    action = draw(st.sampled_from(["truncate", "insert", "repeat", "indent", "bytes"]))
    if action == "truncate":
        return text[: draw(st.integers(0, len(text)))].encode()
    if action == "insert":
        at = draw(st.integers(0, len(text)))
        return (text[:at] + draw(JUNK) + text[at:]).encode()
    lines = text.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    if action == "repeat":
        lines.insert(i, lines[i])
    elif action == "indent":
        lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
    else:
        return "".join(lines).encode()[: draw(st.integers(0, len(text)))] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]))
    return "".join(lines).encode()


# -- running ------------------------------------------------------------------------------


PROVIDER = {"type": "aws", "region": "us-east-1", "max_attempts": 2}


@dataclass
class Fixture:
    dir: Path
    env: dict[str, str]
    base_config: str

    @property
    def statefile(self) -> Path:
        return self.dir / "state" / "default.json"

    def files(self) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in (self.dir / "state").iterdir()}


@pytest.fixture(scope="module")
def applied(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """A directory whose statefile records one applied model, config and endpoint (twice, for a backup)."""
    directory = tmp_path_factory.mktemp("fuzz")
    env = cli_env(moto_url)
    base: dict[str, Any] = {"provider": {**PROVIDER, "endpoint_url": moto_url}, "models": {"base": {
        "execution_role_arn": ROLE, "primary_container": {"image": "img:1", "model_data_url": "s3://bucket/base"}}}}  # fmt: skip
    base_config = yaml.safe_dump(base)
    (directory / "smstate.yaml").write_text(base_config)
    for _ in range(2):
        result = run_cli(["apply", "--auto-approve"], directory, env)
        assert result.code == 0, str(result)
        base["models"]["base"]["tags"] = {"round": "two"}
        (directory / "smstate.yaml").write_text(yaml.safe_dump(base))
    return Fixture(directory, env, base_config)


def write(fixture: Fixture, config: dict[str, Any], split: bool) -> str:
    """The config as YAML: everything in smstate.yaml, or the endpoints in endpoints.smstate.yaml."""
    for stale in fixture.dir.glob("*.smstate.yaml"):
        stale.unlink()
    config = {"provider": fixture_provider(fixture), **config}
    if split and "endpoints" in config:
        extra = {"endpoints": config.pop("endpoints")}
        (fixture.dir / "endpoints.smstate.yaml").write_text(yaml.safe_dump(extra, allow_unicode=True))
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    (fixture.dir / "smstate.yaml").write_text(text)
    return text


def fixture_provider(fixture: Fixture) -> dict[str, Any]:
    return dict(yaml.safe_load(fixture.base_config)["provider"])


def check(fixture: Fixture, command: str, what: str, tree_ok: bool) -> Result:
    """Run `command` in-process; assert the outcome contract; return the result."""
    before = fixture.files()
    with environ(fixture.env):
        result = main_in_process([command, "-C", str(fixture.dir)])
    report = f"{command} after {what}:\n{result}"
    assert result.code in (0, 1), report
    assert "Traceback" not in result.out + result.err, report
    assert fixture.files() == before, f"the state directory changed\n{report}"
    if result.code == 1:
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert lines and lines[0].startswith("Error:"), report
        assert all(line.startswith(("Error:", "  ", "Warning:")) for line in lines), report
        located = [m for m in map(LOCATED.match, lines) if m]
        if tree_ok:
            assert located, f"no Error line names file:line\n{report}"
        for match in located:
            text = (fixture.dir / match["file"]).read_bytes()
            assert 1 <= int(match["line"]) <= text.count(b"\n") + 1, report
    return result


STATS: dict[str, int] = {}
"""Inputs fed to smstate in this run, by kind (printed at the end of the module, with -s)."""


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if STATS:
        print(f"\nfuzzed inputs: {sum(STATS.values())} {json.dumps(STATS)}")


def _count(key: str) -> None:
    STATS[key] = STATS.get(key, 0) + 1


@settings(max_examples=EXAMPLES["validate"], deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=st.data(), config=configs(), split=st.booleans())
def test_validate_survives_generated_configs(applied: Fixture, data: st.DataObject, config: dict[str, Any], split: bool) -> None:
    validate_case(applied, data, config, split)


def validate_case(applied: Fixture, data: st.DataObject, config: dict[str, Any], split: bool) -> None:
    kind = data.draw(st.sampled_from(["valid", "tree", "tree", "text"]))
    what = "nothing"
    if kind == "tree":
        what = data.draw(tree_mutation(config))
    text = write(applied, config, split)
    if kind == "text":
        raw = data.draw(text_mutation(text))
        (applied.dir / "smstate.yaml").write_bytes(raw)
        what = f"text mutation: {raw[-80:]!r}"
    result = check(applied, "validate", what, tree_ok=kind == "tree")
    _count(f"validate-{kind}")
    if kind == "valid":
        assert result.code == 0, str(result)


@settings(max_examples=EXAMPLES["plan"], deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=st.data(), config=configs())
def test_plan_survives_generated_configs(applied: Fixture, data: st.DataObject, config: dict[str, Any]) -> None:
    mutate = data.draw(st.booleans())
    what = data.draw(tree_mutation(config)) if mutate else "nothing"
    write(applied, config, split=False)
    result = check(applied, "plan", what, tree_ok=mutate)
    _count(f"plan-{'tree' if mutate else 'valid'}")
    if not mutate:
        assert result.code == 0 and "Plan:" in result.out, str(result)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=st.data(), config=configs(), split=st.booleans())
def test_validate_explores_long(applied: Fixture, data: st.DataObject, config: dict[str, Any], split: bool) -> None:
    """The same contract, 5000 new examples a run (not derandomized)."""
    validate_case(applied, data, config, split)


def test_a_few_as_subprocesses(applied: Fixture) -> None:
    """The same contract through a real process: exit code, stderr, nothing written."""
    cases: list[tuple[str, Callable[[str], str]]] = [
        ("wrong type", lambda t: t.replace("image: img:1", "image: [1, 2]")),
        ("yaml junk", lambda t: t + "\n  : : {\n"),
        ("billion laughs", lambda _: "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "models: *i\n"),
        ("recursive alias", lambda t: t + "outputs: &o {x: *o}\n"),
        ("depends_on not a list", lambda t: t.replace("    execution_role_arn", "    depends_on: 1\n    execution_role_arn", 1)),
    ]
    for name, change in cases:
        (applied.dir / "smstate.yaml").write_text(change(applied.base_config))
        before = applied.files()
        result = run_cli(["plan"], applied.dir, applied.env, timeout=60)
        assert result.code == 1 and "Traceback" not in result.err, f"{name}\n{result}"
        assert result.errors and all(LOCATED.match(line) for line in result.errors), f"{name}\n{result}"
        assert applied.files() == before, name
        _count("subprocess")

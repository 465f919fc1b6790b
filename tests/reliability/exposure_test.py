"""What smstate exposes: sensitive values never leave in clear; the local server listens on loopback only.

A sensitive variable feeds a model's environment, a tag and an output, and is applied to
the local target (which really hosts it). Its value must reach SageMaker and nothing else:
not the statefile or its backup, not `plan`/`apply`/`destroy`/`drift`/`state show`/`state pull`
/`output` output, not an error message about it, not the local server's log.
(Model-archive extraction attacks are covered by tests/local/hosting_extract_test.py.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import REPO, Result, cli_env, run_cli
from tests.local.server_harness import ServerProcess, children, clients, free_port, model_servers, model_tar

SECRET = "s3cr3t-7f2b9c41-never-print"
ROTATED = "s3cr3t-0a9e5d17-rotated"

CONFIG = """\
provider: {{type: local, url: "{url}"}}
variables:
  token: {{sensitive: true}}
models:
  sx:
    primary_container:
      image: local/echo
      model_data_url: ./models/echo.tar.gz
      environment: {{SAGEMAKER_PROGRAM: inference.py, API_TOKEN: "${{var.token}}"}}
    tags: {{owner: "${{var.token}}"}}
endpoint_configs:
  sx:
    production_variants: [{{variant_name: primary, model_name: "${{models.sx.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}]
endpoints:
  sx: {{endpoint_config_name: "${{endpoint_configs.sx.name}}"}}
outputs:
  token: ${{var.token}}
  endpoint: ${{endpoints.sx.name}}
"""


def _model(sm: Any) -> str:
    [name] = [m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith("sx-")]
    return str(name)


def _no_secret(result: Result, what: str) -> None:
    assert SECRET not in result.out + result.err, f"{what} printed the secret\n{result}"
    assert "Traceback" not in result.err, f"{what}\n{result}"


def test_sensitive_values_stay_out_of_every_artefact(local_server: ServerProcess, tmp_path: Path) -> None:
    model_tar(tmp_path / "models", "echo")
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=local_server.url))
    env = cli_env(None, {"SMSTATE_VAR_token": SECRET})

    def run(*args: str) -> Result:
        result = run_cli(args, tmp_path, env, timeout=120)
        _no_secret(result, " ".join(args))
        return result

    assert run("plan").code == 0
    assert run("plan", "--json").code == 0
    applied = run("apply", "--auto-approve")
    assert applied.code == 0, str(applied)
    sm, _ = clients(local_server.url)
    assert sm.describe_model(ModelName=_model(sm))["PrimaryContainer"]["Environment"]["API_TOKEN"] == SECRET  # SageMaker has it
    for args in (("plan", "--detailed-exitcode"), ("drift",), ("drift", "--format", "json"), ("state", "show", "models.sx"),
                 ("state", "pull"), ("output",), ("output", "token"), ("output", "--json")):  # fmt: skip
        assert run(*args).code == 0, args

    # the value rejected by SageMaker's own rules: the error names the field, not the value
    for field in ("image: local/echo", "variant_name: primary"):
        text = (tmp_path / "smstate.yaml").read_text()
        (tmp_path / "smstate.yaml").write_text(text.replace(field, field.split(":")[0] + ': "${var.token} !"'))
        failed = run_cli(["plan"], tmp_path, cli_env(None, {"SMSTATE_VAR_token": SECRET + "\n bad"}))
        _no_secret(failed, f"a sensitive value breaking {field}")
        assert failed.code == 1 and failed.errors, str(failed)
        (tmp_path / "smstate.yaml").write_text(text)

    # a rotated value: a change (model replaced, tag updated), neither value shown, then no changes
    rotated = cli_env(None, {"SMSTATE_VAR_token": ROTATED})
    for step, code in ((["plan", "--detailed-exitcode"], 2), (["apply", "--auto-approve"], 0), (["plan", "--detailed-exitcode"], 0)):
        result = run_cli(step, tmp_path, rotated, timeout=120)
        assert result.code == code, str(result)
        assert ROTATED not in result.out + result.err and SECRET not in result.out + result.err, str(result)
    assert sm.list_tags(ResourceArn=sm.describe_model(ModelName=_model(sm))["ModelArn"])["Tags"][0]["Value"] != SECRET

    assert run_cli(["destroy", "--auto-approve"], tmp_path, rotated, timeout=120).code == 0
    written = [p for p in (tmp_path / "state").iterdir() if p.is_file()] + [local_server.log_file]
    for path in written:
        for value in (SECRET, ROTATED):
            assert value.encode() not in path.read_bytes(), f"{path} holds a sensitive value"
    assert (tmp_path / "state" / "default.json.backup").exists()


def _listening(pid: int) -> list[str]:
    """The local addresses of the listening TCP sockets held by `pid`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.append(fields[1].rsplit(":", 1)[0])
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}


def test_the_local_server_and_its_model_servers_listen_on_loopback_only(local_server: ServerProcess, tmp_path: Path) -> None:
    sm, _ = clients(local_server.url)
    tar = model_tar(tmp_path, "echo")
    sm.create_model(ModelName="lb", PrimaryContainer={"Image": "local/echo", "ModelDataUrl": str(tar),
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}, ExecutionRoleArn="arn:aws:iam::123456789012:role/x")  # fmt: skip
    sm.create_endpoint_config(EndpointConfigName="lb", ProductionVariants=[
        {"VariantName": "p", "ModelName": "lb", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])  # fmt: skip
    sm.create_endpoint(EndpointName="lb", EndpointConfigName="lb")
    try:
        sm.get_waiter("endpoint_in_service").wait(EndpointName="lb", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        assert local_server.process is not None
        pids = {local_server.process.pid, *children(local_server.process.pid), *model_servers(local_server.process.pid)}
        addresses = [a for pid in pids for a in _listening(pid)]
        assert addresses and set(addresses) <= LOOPBACK, addresses
    finally:
        sm.delete_endpoint(EndpointName="lb")
        sm.delete_endpoint_config(EndpointConfigName="lb")
        sm.delete_model(ModelName="lb")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.com"])
def test_the_local_server_refuses_to_bind_beyond_loopback(host: str, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "providers.local", "serve", "--host", host, "--port", str(port), "--home", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, proc
    assert proc.stderr.startswith("Error:") and "loopback" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_smstate_will_not_start_a_local_server_beyond_loopback(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "smstate.yaml").write_text(f'provider: {{type: local, url: "http://0.0.0.0:{port}", home: "{tmp_path / "home"}"}}\n'
                                           "models:\n  m: {primary_container: {image: i, model_data_url: s3://b/k}}\n")  # fmt: skip
    result = run_cli(["plan"], tmp_path, cli_env(None))
    assert result.code == 1 and len(result.errors) == 1 and "loopback" in result.errors[0], str(result)
    assert not (tmp_path / "home" / "server.pid").exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


# Sensitive values of every type: a map, a list and a number, used whole, by entry and element,
# interpolated, as tags and as outputs; and the error paths that would quote them.
MAP_SECRET = "mapval-5d1e0c77-never-print"
LIST_SECRET = "listval-91ab33f0-never-print"
NUMBER_SECRET = 73491270551
TYPED_SECRETS = (MAP_SECRET, LIST_SECRET, str(NUMBER_SECRET))

TYPED_CONFIG = """\
provider: {{type: local, url: "{url}"}}
variables:
  creds: {{type: map, sensitive: true}}
  items: {{type: list, sensitive: true}}
  count: {{type: number, sensitive: true}}
models:
  sx:
    primary_container:
      image: local/echo
      model_data_url: ./models/echo.tar.gz
      environment: {{SAGEMAKER_PROGRAM: inference.py, API_KEY: "${{var.creds.key}}", ITEM: "${{var.items.0}}", COUNT: "n${{var.count}}"}}
    tags: {{owner: "${{var.creds.key}}", n: "${{var.count}}"}}
  sy:
    primary_container:
      image: local/echo
      model_data_url: ./models/echo.tar.gz
      environment: "${{var.creds}}"
outputs:
  creds: ${{var.creds}}
  items: ${{var.items}}
  count: ${{var.count}}
  key: "k-${{var.creds.key}}"
"""


def _typed_project(tmp_path: Path, url: str) -> dict[str, str]:
    model_tar(tmp_path / "models", "echo")
    (tmp_path / "smstate.yaml").write_text(TYPED_CONFIG.format(url=url))
    return cli_env(None, {
        "SMSTATE_VAR_count": str(NUMBER_SECRET),
        "SMSTATE_VAR_creds": f"{{key: {MAP_SECRET}, SAGEMAKER_PROGRAM: inference.py}}",
        "SMSTATE_VAR_items": f"[{LIST_SECRET}, b]",
    })


def _no_typed_secret(result: Result, what: str) -> None:
    for value in TYPED_SECRETS:
        assert value not in result.out + result.err, f"{what} printed {value}\n{result}"
    assert "Traceback" not in result.err, f"{what}\n{result}"


def test_sensitive_maps_lists_and_numbers_stay_out_of_every_artefact(local_server: ServerProcess, tmp_path: Path) -> None:
    env = _typed_project(tmp_path, local_server.url)

    def run(*args: str, code: int = 0) -> Result:
        result = run_cli(args, tmp_path, env, timeout=120)
        _no_typed_secret(result, " ".join(args))
        assert result.code == code, str(result)
        return result

    plan = run("plan")
    assert "environment = (sensitive)" in plan.out and "ITEM = (sensitive)" in plan.out, plan.out
    assert "tags.n = (sensitive)" in plan.out, plan.out
    run("plan", "--json")
    run("apply", "--auto-approve")
    sm, _ = clients(local_server.url)
    [sx] = [m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith("sx-")]
    environment = sm.describe_model(ModelName=sx)["PrimaryContainer"]["Environment"]
    assert (environment["API_KEY"], environment["ITEM"], environment["COUNT"]) == (MAP_SECRET, LIST_SECRET, f"n{NUMBER_SECRET}")
    run("plan", "--detailed-exitcode")  # hashes of whole maps, entries and numbers agree with the live reads
    for args in (("drift",), ("drift", "--format", "json"), ("state", "show", "models.sy"), ("state", "pull"),
                 ("output",), ("output", "creds"), ("output", "--json")):  # fmt: skip
        run(*args)
    outputs = json.loads(run("output", "--json").out)
    assert {k: v["value"] if isinstance(v, dict) else v for k, v in outputs.items()}.get("count") == "(sensitive)", outputs

    # a number changed by hand shows as drift, hidden
    sm.add_tags(ResourceArn=sm.describe_model(ModelName=sx)["ModelArn"], Tags=[{"Key": "n", "Value": "12345678901"}])
    drift = run("drift", code=2)
    assert "tags.n: (sensitive) -> (sensitive)" in drift.out, drift.out

    _statefile_confirms_no_guess(tmp_path)
    written = [p for p in (tmp_path / "state").iterdir() if p.is_file()] + [local_server.log_file]
    assert (tmp_path / "state" / "default.json.backup") in written
    for path in written:
        for value in TYPED_SECRETS:
            assert value.encode() not in path.read_bytes(), f"{path} holds {value}"
    run("destroy", "--auto-approve")


def _statefile_confirms_no_guess(project: Path) -> None:
    """Everything a reader of the statefile alone could compute from a guess (the true values,
    here) appears nowhere in it; computed with the key kept beside it, it does."""
    from smstate import config as config_mod
    from smstate import variables as variables_mod
    from smstate.evaluate import Keys, evaluate
    from smstate.hashing import StateKey, canonical
    from smstate.state import redact
    from smstate.workspace import Workspace

    text = (project / "state" / "default.json").read_text()
    data = json.loads(text)
    key_file = project / "state" / "default.json.key"
    assert key_file.stat().st_mode & 0o077 == 0, oct(key_file.stat().st_mode)
    secret = key_file.read_bytes().strip()
    assert secret.decode() not in text

    config = config_mod.load([("smstate.yaml", (project / "smstate.yaml").read_text())])
    files: list[Mapping[str, Any]] = [{"creds": {"key": MAP_SECRET, "SAGEMAKER_PROGRAM": "inference.py"}, "items": [LIST_SECRET, "b"]}]
    values = variables_mod.resolve(config, {}, files, {"SMSTATE_VAR_count": str(NUMBER_SECRET)})
    workspace = Workspace(project)

    def derived(key: StateKey) -> set[str]:
        found: set[str] = set()
        evaluation = evaluate(config, values, {}, workspace.digest, str(project), keys=Keys(key))
        for desired in evaluation.desired.values():
            found |= {str(desired.spec_hash), str(desired.physical_name)[-8:]}
            found |= set(re.findall(r"\(sensitive:[0-9a-f]+\)", json.dumps(redact({"s": desired.spec, "t": desired.tags}, key))))
        for value in values.values():
            found |= {redact(value, key) if isinstance(redact(value, key), str) else "", hashlib.sha256(canonical(value).encode()).hexdigest()}
        return found - {""}

    lineage = data["lineage"]
    guesses = derived(StateKey.of_lineage(lineage)) | derived(StateKey(lineage.encode()))  # unkeyed, or keyed by what the file holds
    assert guesses and not [g for g in guesses if g in text], "the statefile confirms a guess"
    confirmed = derived(StateKey(secret))
    assert data["resources"]["models.sx"]["spec_hash"] in confirmed  # with the key, the same computation does match
    assert [g for g in confirmed if g.startswith("(sensitive:") and g in text]


ERROR_CASES = [  # (text of TYPED_CONFIG, its replacement, extra args, a needle the Error line holds)
    ('owner: "${var.creds.key}"', 'bad: "x-${var.creds.key}!#"', (), "tags.bad"),
    ("image: local/echo", "image: local/echo\n      mode: ${var.items.0}", (), "primary_container.mode"),
    ("image: local/echo", 'image: "${var.creds.key} !"', (), "primary_container.image"),
    ("./models/echo", "./models/${var.items.0}", (), "model artifact not found: (sensitive)"),
    ("", "", ("--var-file", "broken.yaml"), "broken.yaml:2:"),
    ("", "", ("--var-file", "typed.yaml"), "variables.count"),
    ("", "", ("--var", MAP_SECRET), "--var"),
]


@pytest.mark.parametrize(("old", "new", "args", "needle"), ERROR_CASES, ids=[c[3].split(":")[0] for c in ERROR_CASES])
def test_errors_about_sensitive_values_name_the_field_not_the_value(
    local_server: ServerProcess, tmp_path: Path, old: str, new: str, args: tuple[str, ...], needle: str
) -> None:
    env = _typed_project(tmp_path, local_server.url)
    text = (tmp_path / "smstate.yaml").read_text()
    (tmp_path / "smstate.yaml").write_text(text.replace(old, new, 1) if old else text)
    (tmp_path / "broken.yaml").write_text(f"count: 1\ncreds: {{key: {MAP_SECRET}, other: @{LIST_SECRET}}}\n")
    (tmp_path / "typed.yaml").write_text(f"count: not-a-number-{LIST_SECRET}\n")
    result = run_cli(["plan", *args], tmp_path, env)
    _no_typed_secret(result, f"plan with {new!r} {args}")
    assert result.code == 1 and result.errors and needle in "\n".join(result.errors), str(result)
    assert not (tmp_path / "state").exists()

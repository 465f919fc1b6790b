"""What smstate exposes: sensitive values never leave in clear; the local server listens on loopback only.

A sensitive variable feeds a model's environment, a tag and an output, and is applied to
the local target (which really hosts it). Its value must reach SageMaker and nothing else:
not the statefile or its backup, not `plan`/`apply`/`destroy`/`drift`/`state show`/`state pull`
/`output` output, not an error message about it, not the local server's log.
(Model-archive extraction attacks are covered by tests/local/test_hosting_extract.py.)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import REPO, Result, cli_env, run_cli
from tests.local.server_harness import ServerProcess, children, clients, free_port, model_tar

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
        pids = {local_server.process.pid, *children(local_server.process.pid)}
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

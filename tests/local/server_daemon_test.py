"""Background server management: the Python API (`daemon`) and the
`python -m providers.local` command line."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.local import daemon
from tests.e2e.helpers import assert_clean_failure, cli_env, run_cli
from tests.local.server_harness import PID_CODE, REPO, clients, deploy, free_port, invoke_label, model_tar
from tests.local.server_lifecycle_test import wait_gone


@pytest.fixture()
def url() -> Iterator[str]:
    address = f"http://127.0.0.1:{free_port()}"
    yield address
    daemon.stop(address)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "providers.local", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_ensure_running_status_stop(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon.ensure_running(url, home, timeout=30)
    info = daemon.status(url, home)
    assert info["running"] is True
    assert info["runtime"] == "process"
    assert Path(info["home"]) == home.resolve()
    assert daemon.log_path(home) == home.resolve() / "server.log"
    assert daemon.log_path(home).exists()

    daemon.ensure_running(url, home)  # already running: nothing new starts
    assert daemon.status(url, home)["pid"] == info["pid"]

    sm, rt = clients(url)
    deploy(sm, "pids", model_tar(tmp_path, "pids", PID_CODE), count=2)
    pids = {int(invoke_label(rt, "pids")) for _ in range(4)}

    assert daemon.stop(url, home) is True
    assert daemon.status(url, home)["running"] is False
    assert wait_gone(pids | {int(info["pid"])}, timeout=1.0) == set()
    assert daemon.stop(url, home) is False


def test_home_and_log_are_private(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    daemon.ensure_running(url, home, timeout=30)
    assert home.stat().st_mode & 0o777 == 0o700
    assert daemon.log_path(home).stat().st_mode & 0o777 == 0o600


def test_malformed_time_scale_is_one_error_line_of_smstate(tmp_path: Path) -> None:
    (tmp_path / "smstate.yaml").write_text(f"provider: {{type: local, url: 'http://127.0.0.1:{free_port()}'}}\n")
    env = {**cli_env(None), "SMSTATE_LOCAL_TIME_SCALE": "0.01x", "SMSTATE_LOCAL_HOME": str(tmp_path / "home")}
    result = run_cli(["plan"], tmp_path, env)
    assert_clean_failure(result, "SMSTATE_LOCAL_TIME_SCALE must be a finite number", "'0.01x'")
    assert not (tmp_path / "home").exists()


def test_runtime_and_home_must_match(url: str, tmp_path: Path) -> None:
    daemon.ensure_running(url, tmp_path / "home")
    with pytest.raises(daemon.DaemonError, match="runs the process runtime, not docker"):
        daemon.ensure_running(url, tmp_path / "home", runtime="docker")
    with pytest.raises(daemon.DaemonError, match="keeps its registry in"):
        daemon.ensure_running(url, tmp_path / "elsewhere")


def test_port_taken_by_something_else(tmp_path: Path) -> None:
    port = free_port()
    other = http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(daemon.DaemonError, match="not the local SageMaker"):
            daemon.ensure_running(f"http://127.0.0.1:{port}", tmp_path / "home")
    finally:
        other.shutdown()
        other.server_close()


def test_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(daemon.DaemonError, match="loopback"):
        daemon.ensure_running("http://192.0.2.1:8765", tmp_path / "home", timeout=1)


def test_start_failure_reports_the_log(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon.ensure_running(url, home)
    with pytest.raises(daemon.DaemonError, match="exited at start(.|\n)*already using"):
        daemon.ensure_running(f"http://127.0.0.1:{free_port()}", home, timeout=20)


def test_a_second_server_on_one_home_is_one_error_line(url: str, tmp_path: Path) -> None:
    """`smstate local start` of a second URL on a home in use: one `Error:` line saying why, not the log's tail."""
    home = tmp_path / "home"
    daemon.ensure_running(url, home)
    other = f"http://127.0.0.1:{free_port()}"
    result = run_cli(["local", "start", "--url", other], tmp_path, cli_env(None, {"SMSTATE_LOCAL_HOME": str(home)}))
    assert_clean_failure(result, "exited at start: another local server is already using", str(home))
    assert daemon.status(url, home)["running"] is True


def test_command_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    home = str(tmp_path / "home")
    try:
        started = cli("start", "--url", url, "--home", home)
        assert started.returncode == 0, started.stderr
        assert f"running at {url}" in started.stdout
        status = cli("status", "--url", url, "--home", home, "--json")
        assert status.returncode == 0 and '"running": true' in status.stdout
        logs = cli("logs", "--home", home, "-n", "5")
        assert logs.returncode == 0 and "listening on" in logs.stdout
        stopped = cli("stop", "--url", url, "--home", home)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert cli("status", "--url", url, "--home", home).returncode == 3
    finally:
        daemon.stop(url)
    refused = cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--home", home)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: ") and "loopback" in refused.stderr


def test_daemon_module_is_import_light() -> None:
    code = (
        "import sys, providers.local.daemon, providers.local.__main__\n"
        "heavy = {'uvicorn', 'starlette', 'botocore', 'boto3', 'httpx'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=30, env={**os.environ})


def smstate_local(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`smstate local ...`, as users type it."""
    return subprocess.run(
        [sys.executable, "-m", "smstate", "local", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_stop_stops_only_the_server_at_that_url(tmp_path: Path) -> None:
    home = tmp_path / "home"
    other = f"http://127.1.2.3:{free_port()}"
    daemon.ensure_running(other, home)
    pid = int(daemon.status(other, home)["pid"])
    try:
        for url in (f"http://127.0.0.1:{free_port()}", f"http://127.1.2.3:{free_port()}"):
            result = smstate_local("stop", "--url", url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert "no local SageMaker was running" in result.stdout
            assert daemon.stop(url, home) is False
        assert daemon.status(other, home)["pid"] == pid  # the server sharing the home still answers
        assert daemon.stop(other, home) is True
    finally:
        daemon.stop(other, home)
    assert daemon.status(other, home)["running"] is False


def test_stop_does_not_trust_a_pid_that_does_not_listen_at_the_url(tmp_path: Path) -> None:
    """A recorded pid (the server no longer answers) is signalled only if it
    holds the socket listening at that URL; a sleeping bystander is not."""
    url = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    home.mkdir()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # providers.local"])
    try:
        daemon.pid_path(home).write_text(json.dumps({"pid": bystander.pid, "url": url}))
        assert daemon.stop(url, home) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait(10)


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "http://"])
@pytest.mark.parametrize("action", ["start", "stop", "status"])
def test_a_malformed_url_is_one_error_line(action: str, url: str, tmp_path: Path) -> None:
    result = smstate_local(action, "--url", url, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("SMSTATE_LOCAL_REQUEST_TIMEOUT", "nan"), ("SMSTATE_LOCAL_KEEP_ALIVE", "-1"),
     ("SMSTATE_LOCAL_MAX_CONNECTIONS", "lots"), ("SMSTATE_LOCAL_TIME_SCALE", "fast"),
     ("SMSTATE_LOCAL_TIME_SCALE", "-1")],  # fmt: skip
)
def test_malformed_connection_settings_are_one_error_line(name: str, value: str, tmp_path: Path) -> None:
    env = {**os.environ, name: value}
    for args in (["start", "--url", f"http://127.0.0.1:{free_port()}"], ["serve", "--port", str(free_port())]):
        result = subprocess.run(
            [sys.executable, "-m", "providers.local", *args, "--home", str(tmp_path / "home")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: {name} must be") and len(result.stderr.splitlines()) == 1

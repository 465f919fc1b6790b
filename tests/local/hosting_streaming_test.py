"""The model server streams what a handler yields: chunked encoding, each chunk sent
as it is produced, and an unfinished response when the handler fails mid-way."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.local.hosting_model_server_test import SERVERS, model_server, write_model

pytestmark = pytest.mark.timeout(120)

GATED = '''
import os, time

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    yield "first;"
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["GATE"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield "second;" if os.path.exists(os.environ["GATE"]) else "gave-up;"
    yield b"third;"
'''

BREAKING = '''
def model_fn(model_dir):
    return None

def predict_fn(data, model):
    yield "one;"
    raise RuntimeError("broke")
'''


@pytest.mark.parametrize("server", SERVERS)
def test_a_generator_streams_chunk_by_chunk_as_produced(tmp_path: Path, server: str) -> None:
    gate = tmp_path / "go"
    model = write_model(tmp_path / "model", GATED)
    with model_server(model, "--server", server, env={"GATE": str(gate)}) as running:
        with httpx.stream("POST", f"{running.url}/invocations", content=b"[1]",
                          headers={"content-type": "application/json"}, timeout=60) as response:  # fmt: skip
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            received = response.iter_raw()
            assert next(received) == b"first;"
            gate.touch()
            assert b"".join(received) == b"second;third;"


@pytest.mark.parametrize("server", SERVERS)
def test_a_handler_failing_mid_stream_leaves_the_response_unfinished(tmp_path: Path, server: str) -> None:
    model = write_model(tmp_path / "model", BREAKING)
    with model_server(model, "--server", server) as running:
        with pytest.raises(httpx.RemoteProtocolError):
            running.post(b"[1]", content_type="application/json")
        assert "RuntimeError: broke" in running.log.read_text()
        assert httpx.get(f"{running.url}/ping", timeout=10).status_code == 200  # and it keeps serving

"""Bad HTTP input gets AWS-shaped errors and never stops the server; sockets
are keep-alive with TCP_NODELAY."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from botocore.exceptions import ClientError

from providers.local.server import ServerError, bind, build_app, front_door, server_config
from tests.local.server_harness import ServerProcess, clients, deploy, free_port, model_tar


@pytest.fixture()
def conn(server: ServerProcess) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    yield connection
    connection.close()


def call(
    conn: http.client.HTTPConnection, body: bytes, target: str | None = "SageMaker.ListModels", path: str = "/"
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


def test_malformed_json(conn: http.client.HTTPConnection) -> None:
    status, headers, payload = call(conn, b'{"MaxResults": ')
    assert status == 400
    assert payload["__type"] == "SerializationException"
    assert headers["x-amzn-errortype"] == "SerializationException"
    assert call(conn, b"[1, 2]")[2]["__type"] == "SerializationException"
    assert call(conn, b"")[0] == 200


def test_unknown_operations(conn: http.client.HTTPConnection, server: ServerProcess) -> None:
    for target in ("SageMaker.CreateTrainingJob", "SageMaker.NoSuchThing", "DynamoDB_20120810.ListTables", None):
        status, _, payload = call(conn, b"{}", target=target)
        assert (status, payload["__type"]) == (400, "UnknownOperationException")
    sm, _ = clients(server.url)
    with pytest.raises(ClientError) as caught:
        sm.list_training_jobs()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"


def test_parameter_validation_in_aws_words(conn: http.client.HTTPConnection) -> None:
    _, _, missing = call(conn, b"{}", target="SageMaker.DescribeModel")
    assert missing == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'modelName' failed to satisfy constraint: "
        "Member must not be null",
    }
    _, _, unknown = call(conn, b'{"ModelName": "a", "Colour": "red"}', target="SageMaker.DescribeModel")
    assert 'Unknown parameter in input: "Colour"' in unknown["message"]
    status, _, wrong = call(conn, b'{"MaxResults": "ten"}')
    assert (status, wrong["__type"], wrong["message"]) == (
        400, "SerializationException", "STRING_VALUE can not be converted to an Integer"
    )
    _, _, ranged = call(conn, b'{"MaxResults": 1000}')
    assert ranged["message"] == (
        "1 validation error detected: Value '1000' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    )


def test_oversized_bodies(conn: http.client.HTTPConnection, server: ServerProcess, tmp_path: Path) -> None:
    status, _, payload = call(conn, b'{"NameContains": "' + b"x" * (1024 * 1024 + 10) + b'"}')
    assert status == 413
    assert payload == {"__type": "RequestEntityTooLargeException", "message": "HTTP content length exceeded 1048576 bytes."}
    assert call(conn, b"{}")[0] == 200  # same connection, still served

    sm, rt = clients(server.url)
    deploy(sm, "big-body", model_tar(tmp_path, "v1"))
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="big-body", Body=b"0" * (6 * 1024 * 1024 + 1), ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "413"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    response = rt.invoke_endpoint(EndpointName="big-body", Body=b"1", ContentType="application/json")
    assert json.loads(response["Body"].read())["label"] == "v1"


def test_unknown_endpoint_and_paths(conn: http.client.HTTPConnection, server: ServerProcess) -> None:
    _, rt = clients(server.url)
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName="ghost", Body=b"{}")
    assert caught.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint ghost of account 000000000000 not found.",
    }
    conn.request("GET", "/nowhere")
    response = conn.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["message"].startswith("No route")
    conn.request("GET", "/ping")
    assert json.loads(conn.getresponse().read())["status"] == "Healthy"


def test_garbage_on_the_socket_does_not_stop_the_server(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        raw.recv(1024)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/ping")
    assert connection.getresponse().status == 200
    connection.close()


def test_keep_alive(conn: http.client.HTTPConnection) -> None:
    call(conn, b"{}")
    sock = conn.sock
    for _ in range(20):
        assert call(conn, b"{}")[0] == 200
        call(conn, b"{", target="SageMaker.ListModels")
    assert conn.sock is sock  # one TCP connection served every request, errors included


def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ServerError, match="loopback"):
        bind("0.0.0.0", free_port())


def test_every_accepted_socket_has_tcp_nodelay(tmp_path: Path) -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = build_app(tmp_path / "home", "process", None, f"http://127.0.0.1:{port}")
    server = uvicorn.Server(server_config(app, front_door()))
    thread = threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        client.request("GET", "/ping")
        assert client.getresponse().read()
        accepted = [c.transport.get_extra_info("socket") for c in server.server_state.connections]
        assert accepted
        for accepted_socket in accepted:
            assert accepted_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client.close()
    finally:
        server.should_exit = True
        thread.join(20)

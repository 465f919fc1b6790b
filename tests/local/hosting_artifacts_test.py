"""Model artifacts: paths, file:// and s3:// URLs, and the extraction cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from providers.local.hosting import HostingError, start_instance
from providers.local.hosting.artifacts import fetch_artifact, prepare_model_dir

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A bucket named ``models`` on a moto server that boto3 reaches via AWS_ENDPOINT_URL."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3")
    client.create_bucket(Bucket="models")
    yield client
    for obj in client.list_objects_v2(Bucket="models").get("Contents", []):
        client.delete_object(Bucket="models", Key=obj["Key"])
    client.delete_bucket(Bucket="models")


def test_paths_and_file_urls_resolve_to_the_file(tmp_path: Path) -> None:
    artifact = tmp_path / "my models" / "model.tar.gz"
    artifact.parent.mkdir()
    artifact.write_bytes(b"x")
    cache = tmp_path / "cache"
    assert fetch_artifact(str(artifact), cache) == artifact
    assert fetch_artifact("file://" + str(artifact).replace(" ", "%20"), cache) == artifact
    with pytest.raises(HostingError, match="model artifact not found: file:///nowhere/model.tar.gz"):
        fetch_artifact("file:///nowhere/model.tar.gz", cache)


def test_an_archive_is_extracted_once_even_when_prepared_concurrently(
    quickstart_model: Path, tmp_path: Path
) -> None:
    url = str(quickstart_model / "model.tar.gz")
    with ThreadPoolExecutor(4) as pool:
        dirs = set(pool.map(lambda _: prepare_model_dir(url, tmp_path / "cache"), range(4)))
    assert len(dirs) == 1
    (model_dir,) = dirs
    assert (model_dir / "model.joblib").is_file() and (model_dir / "code" / "inference.py").is_file()
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [model_dir.name]


def test_an_s3_object_is_downloaded_once_and_extracted(quickstart_model: Path, tmp_path: Path, s3: Any) -> None:
    s3.upload_file(str(quickstart_model / "model.tar.gz"), "models", "iris/model.tar.gz")
    cache = tmp_path / "cache"
    first = prepare_model_dir("s3://models/iris/model.tar.gz", cache)
    second = prepare_model_dir("s3://models/iris/model.tar.gz", cache)
    assert first == second and (first / "model.joblib").is_file()
    assert len(list((cache / "downloads").iterdir())) == 1


def test_a_missing_s3_object_is_not_found(tmp_path: Path, s3: Any) -> None:
    with pytest.raises(HostingError, match="model artifact not found: s3://models/nothing.tar.gz"):
        prepare_model_dir("s3://models/nothing.tar.gz", tmp_path / "cache")


@pytest.mark.anyio
async def test_an_uncompressed_s3_prefix_is_the_model_dir(
    quickstart_model: Path, tmp_path: Path, s3: Any
) -> None:
    for path in (quickstart_model / "model").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            key = "iris/plain/" + path.relative_to(quickstart_model / "model").as_posix()
            s3.upload_file(str(path), "models", key)
    model = {
        "ModelName": "iris",
        "PrimaryContainer": {
            "Image": "local",
            "ModelDataSource": {"S3DataSource": {
                "S3Uri": "s3://models/iris/plain/", "S3DataType": "S3Prefix", "CompressionType": "None",
            }},
        },
    }
    instance = await start_instance(model, tmp_path / "instance", cache_dir=tmp_path / "cache")
    try:
        await instance.wait_ready(30)
        result = await instance.invoke(b'[[5.1, 3.5, 1.4, 0.2]]', "application/json", None, None)
    finally:
        await instance.stop()
    assert json.loads(result.body) == {"predictions": ["setosa"]}


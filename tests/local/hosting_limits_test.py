"""Instance memory: the ml.* table, and real models within their instance's memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.local.hosting import start_instance
from providers.local.hosting.limits import GIB, instance_memory, variant_memory

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("instance_type", "gib"),
    [
        ("ml.t2.medium", 4), ("ml.t3.large", 8), ("ml.m5.large", 8), ("ml.m5.xlarge", 16), ("ml.m6g.4xlarge", 64),
        ("ml.c5.large", 4), ("ml.c5.9xlarge", 72), ("ml.r5.large", 16), ("ml.g4dn.xlarge", 16),
        ("ml.g5.12xlarge", 192), ("ml.p3.2xlarge", 61), ("ml.inf1.xlarge", 8), ("ml.c4.large", 3.75),
    ],
)  # fmt: skip
def test_instance_memory_follows_the_instance_type(instance_type: str, gib: float) -> None:
    assert instance_memory(instance_type) == int(gib * GIB)


def test_unknown_types_are_unbounded_and_serverless_gets_its_memory_size() -> None:
    assert instance_memory("ml.q9.huge") is None and instance_memory("local") is None
    assert variant_memory({"InstanceType": "ml.m5.large"}) == 8 * GIB
    assert variant_memory({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}) == 2 * GIB
    assert variant_memory({}) is None


async def test_the_quickstart_model_serves_within_the_smallest_instance(quickstart_model: Path, tmp_path: Path) -> None:
    model = {"ModelName": "q", "PrimaryContainer": {"Image": "x", "ModelDataUrl": str(quickstart_model / "model.tar.gz")}}
    memory = instance_memory("ml.t2.medium")
    instance = await start_instance(model, tmp_path / "i", cache_dir=tmp_path / "cache", memory=memory)
    try:
        await instance.wait_ready(60)
        body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
        result = await instance.invoke(body, "application/json", None, None)
        assert result.status == 200 and json.loads(result.body) == {"predictions": ["setosa"]}
        pid = instance.containers[0].process.pid  # type: ignore[attr-defined]
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert f"Max data size             {memory}" in limits
    finally:
        await instance.stop()

"""How much memory an instance of a production variant may use.

SageMaker gives each instance the memory of its instance type, and a container that
goes past it is killed. The table derives an ``ml.*`` type's memory from its family
(GiB per vCPU) and size (vCPUs), with the few types that break the rule listed
outright. A serverless variant gets its ``MemorySizeInMB``.
"""

from __future__ import annotations

import re
from typing import Any

GIB = 1024**3

#: vCPUs of an instance size.
_VCPUS = {
    "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8, "3xlarge": 12, "4xlarge": 16, "6xlarge": 24,
    "8xlarge": 32, "9xlarge": 36, "12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96,
    "32xlarge": 128, "48xlarge": 192,
}  # fmt: skip

#: GiB of memory per vCPU, by instance family (the letters before the generation).
_GIB_PER_VCPU = {"c": 2.0, "m": 4.0, "r": 8.0, "t": 4.0, "g": 4.0, "inf": 2.0, "trn": 4.0, "x": 16.0, "z": 8.0}

#: Types whose memory the rule above does not give.
_EXCEPTIONS_GIB = {
    "ml.t2.medium": 4, "ml.t3.medium": 4, "ml.c4.large": 3.75, "ml.c4.xlarge": 7.5, "ml.c4.2xlarge": 15,
    "ml.c4.4xlarge": 30, "ml.c4.8xlarge": 60, "ml.m4.16xlarge": 256, "ml.p2.xlarge": 61, "ml.p2.8xlarge": 488,
    "ml.p2.16xlarge": 732, "ml.p3.2xlarge": 61, "ml.p3.8xlarge": 244, "ml.p3.16xlarge": 488,
    "ml.p4d.24xlarge": 1152, "ml.p5.48xlarge": 2048, "ml.g4dn.16xlarge": 256, "ml.g5.16xlarge": 256,
    "ml.inf1.24xlarge": 192, "ml.inf2.xlarge": 16, "ml.inf2.8xlarge": 128, "ml.inf2.24xlarge": 384,
    "ml.inf2.48xlarge": 768,
}  # fmt: skip

_TYPE = re.compile(r"^ml\.([a-z]+)(\d+)[a-z-]*\.([0-9]*[a-z]+)$")


def instance_memory(instance_type: str) -> int | None:
    """Bytes of memory of an ``ml.*`` instance type; None for a type the table does not know."""
    if instance_type in _EXCEPTIONS_GIB:
        return int(_EXCEPTIONS_GIB[instance_type] * GIB)
    match = _TYPE.match(instance_type)
    if match is None:
        return None
    family, _, size = match.groups()
    per_vcpu = _GIB_PER_VCPU.get(family)
    vcpus = _VCPUS.get(size)
    if per_vcpu is None or vcpus is None:
        return None
    return int(per_vcpu * vcpus * GIB)


def variant_memory(variant: dict[str, Any]) -> int | None:
    """The memory one instance of a ProductionVariant gets; None if unbounded (unknown type)."""
    serverless = variant.get("ServerlessConfig") or {}
    if serverless.get("MemorySizeInMB"):
        return int(serverless["MemorySizeInMB"]) * 1024**2
    instance_type = variant.get("InstanceType")
    return instance_memory(str(instance_type)) if instance_type else None



def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of an ``ml.*`` instance type; None for a type the table does not know."""
    match = _TYPE.match(instance_type)
    return _VCPUS.get(match.groups()[2]) if match else None

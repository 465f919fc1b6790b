"""Content-hashed physical names for immutable objects (models, endpoint configs).

The same spec always gives the same name, so an apply that died after a create finds its
object again; any change gives a new name, which flows into every dependent's spec.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

MAX_NAME = 63
ARTIFACT_KEY = "ModelDataUrl"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def spec_hash(request: Any, digest: Callable[[str], str | None]) -> str:
    """SHA-256 of the canonical request; a local artifact contributes the hash of its bytes."""
    return hashlib.sha256(canonical(_with_digests(request, digest)).encode()).hexdigest()


def _with_digests(value: Any, digest: Callable[[str], str | None]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == ARTIFACT_KEY and isinstance(item, str) and item.startswith("file://"):
                out[key] = f"sha256:{digest(item)}"
            else:
                out[key] = _with_digests(item, digest)
        return out
    if isinstance(value, list):
        return [_with_digests(item, digest) for item in value]
    return value


def physical_name(base: str, digest_hex: str) -> str:
    """`<base>-<hash8>`, with `base` cut so the whole fits SageMaker's 63 characters."""
    stem = sanitize(base)[: MAX_NAME - 9].rstrip("-")
    return f"{stem}-{digest_hex[:8]}"


def sanitize(name: str) -> str:
    """SageMaker names allow letters, digits and hyphens: underscores become hyphens."""
    return re.sub(r"[^A-Za-z0-9-]", "-", name)

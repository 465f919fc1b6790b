"""Content-hashed physical names for immutable objects (models, endpoint configs), and the
keyed hashes that stand for sensitive values in the state.

The same spec always gives the same name, so an apply that died after a create finds its
object again; any change gives a new name, which flows into every dependent's spec.

A hash of anything that holds a sensitive value is an HMAC keyed by the state key, a secret
kept apart from the statefile (statekey.py): the statefile alone cannot confirm a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .artifacts import is_local, map_artifacts
from .values import has_secret

MAX_NAME = 63
ARTIFACT_KEYS = frozenset({"ModelDataUrl", "ArtifactUrl"})
"""The request members that hold a model artifact (a model's container, an inference component's)."""
_KEY_ID_LABEL = b"smstate state key id"


@dataclass(frozen=True, repr=False)
class StateKey:
    """The secret that keys every hash covering a sensitive value.

    `legacy` is the scheme of statefiles written before keys existed: sensitive strings keyed
    by the lineage (which the statefile holds) and spec hashes unkeyed. It is only ever read,
    to re-hash such a state under a real key.
    """

    secret: bytes
    legacy: bool = False

    @classmethod
    def generate(cls) -> StateKey:
        return cls(secrets.token_hex(32).encode())

    @classmethod
    def of_lineage(cls, lineage: str) -> StateKey:
        return cls(lineage.encode(), legacy=True)

    @property
    def id(self) -> str:
        """Names the key without revealing it, so a state read with the wrong key is refused."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def value_digest(self, value: Any) -> str:
        text = value if isinstance(value, str) else canonical(_normal(value))
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()[:32]

    def spec_digest(self, request: Any, digest: Callable[[str], str | None], sensitive: bool | None = None) -> str:
        """The request's hash (`spec_hash`), keyed when the request holds a sensitive value."""
        if self.legacy or not (has_secret(request) if sensitive is None else sensitive):
            return spec_hash(request, digest)
        return hmac.new(self.secret, canonical(_with_digests(request, digest)).encode(), hashlib.sha256).hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def spec_hash(request: Any, digest: Callable[[str], str | None]) -> str:
    """SHA-256 of the canonical request; a local artifact contributes the hash of its bytes.

    Only for requests without sensitive values (StateKey.spec_digest keys the others).
    """
    return hashlib.sha256(canonical(_with_digests(request, digest)).encode()).hexdigest()


def _normal(value: Any) -> Any:
    """1 and 1.0 are one number to the API: a hash must not tell them apart."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _with_digests(value: Any, digest: Callable[[str], str | None]) -> Any:
    """A local artifact counts by its bytes, not by where it lies."""
    return map_artifacts(value, lambda _, url: f"sha256:{digest(url)}" if is_local(url) else url, ARTIFACT_KEYS)


def physical_name(base: str, digest_hex: str) -> str:
    """`<base>-<hash8>`, with `base` cut so the whole fits SageMaker's 63 characters."""
    stem = sanitize(base)[: MAX_NAME - 9].rstrip("-")
    return f"{stem}-{digest_hex[:8]}"


def sanitize(name: str) -> str:
    """SageMaker names allow letters, digits and hyphens: underscores become hyphens."""
    return re.sub(r"[^A-Za-z0-9-]", "-", name)

"""Hosting for the local SageMaker server: model artifacts in, model servers out.

The server consumes exactly this API: :func:`start_instance` starts all containers of
a model for one instance of a production variant (``runtime`` ``"process"`` or
``"docker"``), :class:`ModelInstance` waits for them, invokes them and stops them, and
every failure is a :class:`HostingError` whose message is a ready ``FailureReason``.
"""

from __future__ import annotations

from providers.local.hosting.errors import HostingError
from providers.local.hosting.instance import InvokeResult, ModelInstance, start_instance

__all__ = ["HostingError", "InvokeResult", "ModelInstance", "start_instance"]

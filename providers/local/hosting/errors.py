"""The one exception the hosting layer raises."""

from __future__ import annotations


class HostingError(Exception):
    """A model could not be prepared, started or reached.

    The message is one human-readable line (no traceback) because the control plane
    stores it verbatim as the endpoint's ``FailureReason``, as SageMaker does.
    """


class RequestRefused(HostingError):
    """The request, not the instance, is at fault (a missing target model): no failure of the fleet."""

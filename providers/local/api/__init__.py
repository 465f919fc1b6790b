"""The control-plane operations the local server implements, by name."""

from __future__ import annotations

from providers.local.api import components, endpoint_configs, endpoints, models, packages, tags
from providers.local.api.context import Handler

OPERATIONS: dict[str, Handler] = {
    **models.OPERATIONS,
    **endpoint_configs.OPERATIONS,
    **endpoints.OPERATIONS,
    **packages.OPERATIONS,
    **tags.OPERATIONS,
    **components.OPERATIONS,
}

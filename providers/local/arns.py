"""ARNs shaped like SageMaker's.

SageMaker lower-cases the resource name inside an ARN (`endpoint/MyEndpoint`
becomes `endpoint/myendpoint`), so two names that differ only in case collide;
the local server keeps that rule. The region is the one the client signed its
request for (the credential scope of the SigV4 `Authorization` header), or
`us-east-1` for unsigned requests; the account is always `000000000000`.
"""

from __future__ import annotations

import re

from providers.local.settings import ACCOUNT_ID, DEFAULT_REGION

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")


def region_of(authorization: str | None) -> str:
    """The signing region of a request, from its `Authorization` header."""
    if authorization:
        match = _SCOPE.search(authorization)
        if match:
            return match.group(1)
    return DEFAULT_REGION


def arn(region: str, resource_type: str, name: str) -> str:
    """`resource_type` is the ARN resource type: model, endpoint-config, endpoint,
    model-package-group or model-package."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:{resource_type}/{name.lower()}"


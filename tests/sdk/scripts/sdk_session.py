"""A SageMaker SDK session on the local target, configured as a user does.

The local server's URL comes from `SMSTATE_URL` and the bucket from `SDK_BUCKET`;
credentials, region and the S3 endpoint (`AWS_ENDPOINT_URL_S3`) come from the
environment, as boto3 reads them. Each script writes what it observed, as JSON, to
the file named by `SDK_RESULT`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import sagemaker

IMAGE = "smstate/sklearn-serve:local"
ROLE = "arn:aws:iam::000000000000:role/local"
BODY = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}


def session() -> sagemaker.Session:
    """An SDK session whose SageMaker clients talk to the local server."""
    boto = boto3.Session()
    url = os.environ["SMSTATE_URL"]
    return sagemaker.Session(
        boto_session=boto,
        sagemaker_client=boto.client("sagemaker", endpoint_url=url),
        sagemaker_runtime_client=boto.client("sagemaker-runtime", endpoint_url=url),
        default_bucket=os.environ["SDK_BUCKET"],
    )


def upload_model(sess: sagemaker.Session, prefix: str) -> str:
    """The quickstart model archive, uploaded to the session's bucket; its s3:// URL."""
    return sess.upload_data(os.environ["SDK_MODEL"], key_prefix=prefix)


def report(observed: dict[str, Any]) -> None:
    with open(os.environ["SDK_RESULT"], "w") as handle:
        json.dump(observed, handle, default=str)

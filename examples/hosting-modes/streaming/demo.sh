#!/usr/bin/env bash
# Response streaming on the local target, end to end: build, apply, read the answer of
# InvokeEndpointWithResponseStream part by part with boto3, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Build the model archive"
python build.py

step "smstate apply"
smstate apply --auto-approve
url="$(smstate local status --json | python -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

step "InvokeEndpointWithResponseStream: each PayloadPart as it arrives"
python - "$url" <<'PY'
import sys, boto3
runtime = boto3.client("sagemaker-runtime", endpoint_url=sys.argv[1])
response = runtime.invoke_endpoint_with_response_stream(
    EndpointName="storyteller", ContentType="application/json", Body=b'{"max_words": 8}')
print("ContentType:", response["ContentType"])
for event in response["Body"]:
    print("PayloadPart:", repr(event["PayloadPart"]["Bytes"].decode()), flush=True)
PY

step "smstate destroy"
smstate destroy --auto-approve

step "smstate local stop"
smstate local stop

#!/usr/bin/env bash
# Asynchronous inference end to end: train, apply, upload a request, invoke, read the answer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Train the quickstart model and pack build/model.tar.gz"
python ../../quickstart/train.py --out build

step "smstate apply (starts the local SageMaker and its local S3)"
smstate apply --auto-approve

status="$(smstate local status --json)"       # where they run: the config's provider.url, and its S3
url="$(echo "$status" | python -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
s3="$(echo "$status" | python -c 'import json, sys; print(json.load(sys.stdin)["s3"])')"
echo "local SageMaker at $url, its S3 at $s3"
export AWS_ENDPOINT_URL_S3="$s3" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

step "Upload a request to S3"
aws s3 mb s3://smstate-async
echo '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}' | aws s3 cp - s3://smstate-async/input/one.json

step "invoke-endpoint-async, then read the answer from S3"
out="$(aws sagemaker-runtime invoke-endpoint-async --endpoint-url "$url" --endpoint-name iris \
  --input-location s3://smstate-async/input/one.json --content-type application/json \
  --query OutputLocation --output text)"
echo "the answer will be at $out"
until aws s3 cp "$out" - 2>/dev/null; do sleep 0.2; done
echo

step "smstate destroy"
smstate destroy --auto-approve

step "smstate local stop (and its local S3)"
smstate local stop

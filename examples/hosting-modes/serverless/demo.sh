#!/usr/bin/env bash
# A serverless endpoint end to end: train, apply, invoke, show its serverless config, destroy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Train the quickstart model and pack build/model.tar.gz"
python ../../quickstart/train.py --out build

step "smstate apply"
smstate apply --auto-approve

step "smstate invoke iris"
smstate invoke iris --content-type application/json --body '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'

step "DescribeEndpoint: the variant's CurrentServerlessConfig"
url="$(smstate local status --json | python -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
aws sagemaker describe-endpoint --endpoint-url "$url" --endpoint-name iris \
  --query 'ProductionVariants[0].CurrentServerlessConfig'

step "smstate destroy"
smstate destroy --auto-approve

step "smstate local stop"
smstate local stop

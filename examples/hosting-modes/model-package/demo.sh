#!/usr/bin/env bash
# A model from a model package on the local target, end to end: train, apply (a package
# group, an Approved version, a model from it, an endpoint), invoke, try a version that
# is not approved, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Train the quickstart model and pack build/model.tar.gz"
python ../../quickstart/train.py --out build

step "smstate apply"
smstate apply --auto-approve

step "smstate invoke iris (served from the package's container)"
smstate invoke iris --content-type application/json --body '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'

step "DescribeModel shows the container as given; a version not Approved is refused"
url="$(smstate local status --json | python -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
aws sagemaker describe-model --endpoint-url "$url" --model-name "$(smstate output model --raw)" --query PrimaryContainer
aws sagemaker create-model --endpoint-url "$url" --model-name iris-pending \
  --primary-container "ModelPackageName=$(smstate output pending --raw)" || echo "(refused, as on SageMaker)"

step "smstate destroy"
smstate destroy --auto-approve

step "smstate local stop"
smstate local stop

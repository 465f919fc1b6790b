#!/usr/bin/env bash
# Multi-model hosting on the local target, end to end: build and upload the models to a
# local S3, apply, invoke several target models, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "An S3 for the local target (a moto server unless AWS_ENDPOINT_URL_S3 is set)"
source ../local-s3.sh

step "Build one archive per language and upload them under one prefix"
python build.py --upload "s3://$DEMO_BUCKET/greetings/"

step "smstate apply"
smstate apply --auto-approve --var "models_prefix=s3://$DEMO_BUCKET/greetings/"

for model in en.tar.gz fr.tar.gz de.tar.gz en.tar.gz; do
  step "smstate invoke greetings --target-model $model"  # the first request for a model loads it
  smstate invoke greetings --target-model "$model" --content-type application/json --body '{"name": "world"}'
done

step "smstate destroy"
smstate destroy --auto-approve --var "models_prefix=s3://$DEMO_BUCKET/greetings/"

step "smstate local stop"
smstate local stop

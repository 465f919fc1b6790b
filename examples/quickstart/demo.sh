#!/usr/bin/env bash
# The local quickstart, end to end: train, apply, invoke, plan, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Train the model and pack build/model.tar.gz"
python train.py

step "smstate apply (starts the local SageMaker on 127.0.0.1:8765)"
smstate apply --auto-approve

step "smstate invoke iris"
smstate invoke iris --content-type application/json --body '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'

step "smstate plan (expect no changes)"
smstate plan --detailed-exitcode

step "smstate destroy"
smstate destroy --auto-approve

step "smstate local stop"
smstate local stop

#!/usr/bin/env bash
# A serverless endpoint end to end: train, apply, invoke, destroy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

python ../../quickstart/train.py --out build
smstate apply --auto-approve
smstate invoke iris --content-type application/json --body '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
smstate destroy --auto-approve
smstate local stop

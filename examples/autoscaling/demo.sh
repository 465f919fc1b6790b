#!/usr/bin/env bash
# Autoscaling and alarms on the local SageMaker, end to end, in one command:
#
#   ./demo.sh     apply the stack, load the endpoint until target tracking scales the
#                 variant out, stop and watch it scale back in, then destroy it all
#
# Builds the artifacts, starts a local server on 127.0.0.1:8767 (its home under build/),
# applies the model, endpoint, alarm and scaling target, sends a bounded load with
# traffic.py, and shows the scaling through `smstate rollout status`, the AWS CLI's
# `cloudwatch get-metric-statistics` and `application-autoscaling
# describe-scaling-activities` against the local server. Then it destroys everything
# (the scaling target is deregistered before the endpoint is deleted) and stops the server.
#
# The config's periods and cooldowns are production ones (60 s metrics, 60/120 s
# cooldowns); the demo runs the local server's clock at SMSTATE_LOCAL_TIME_SCALE=0.05 so
# that a minute takes 3 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="$here/build/local"
export SMSTATE_LOCAL_TIME_SCALE="${SMSTATE_LOCAL_TIME_SCALE:-0.05}"
url=http://127.0.0.1:8767
aws_local() {  # the AWS CLI against the local server, which takes any credentials
  AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}" \
    aws --endpoint-url "$url" --region us-east-1 "$@"
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  step "smstate destroy"
  smstate destroy --auto-approve || status=1
  step "smstate local stop"
  smstate local stop || status=1
  exit "$status"
}

instances() {  # the variant's current instance count, from rollout status --json
  smstate rollout status scorer --json | python -c 'import json,sys; print(json.load(sys.stdin)["traffic"][0]["instances"])'
}

wait_for() {  # wait_for TEST LIMIT_SECONDS: poll the instance count until TEST (e.g. "-ge 2") holds
  local deadline=$((SECONDS + $2))
  until [ "$(instances)" $1 ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "the instance count never became $1" >&2; return 1; }
    sleep 1
  done
}

step "Build build/v1.tar.gz and build/v2.tar.gz"
python build.py

step "smstate local start (127.0.0.1:8767, home build/local, time scale $SMSTATE_LOCAL_TIME_SCALE)"
smstate local start
trap cleanup EXIT
trap 'exit 130' INT TERM

step "smstate apply: the alarm first, then the endpoint, then its scaling target"
smstate apply --auto-approve

step "smstate rollout status scorer: 1 instance, the alarm OK"
smstate rollout status scorer

step "Load: 4000 requests from 8 threads (traffic.py), while target tracking scales out"
python traffic.py scorer --url "$url" --requests 4000 --threads 8 &
load=$!
wait_for "-ge 2" 120
smstate rollout status scorer
wait "$load"

step "Load stopped: waiting for the scale-in"
wait_for "-le 1" 180
smstate rollout status scorer

step "aws application-autoscaling describe-scaling-activities (against the local server)"
aws_local application-autoscaling describe-scaling-activities --service-namespace sagemaker \
  --resource-id endpoint/scorer/variant/primary --query 'ScalingActivities[].[StartTime,StatusCode,Description]' --output table

step "aws cloudwatch get-metric-statistics: InvocationsPerInstance over the last 10 minutes"
aws_local cloudwatch get-metric-statistics --namespace AWS/SageMaker --metric-name InvocationsPerInstance \
  --dimensions Name=EndpointName,Value=scorer Name=VariantName,Value=primary --statistics Sum --period 60 \
  --start-time "$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)" --end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --output table

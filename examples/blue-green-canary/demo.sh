#!/usr/bin/env bash
# Blue/green canary rollouts on the local SageMaker, end to end, in one command:
#
#   ./demo.sh canary     v1 -> v2: 25% canary, bake, then all traffic; v2 serves
#   ./demo.sh rollback   v1 -> bad (500s half the time): the CloudWatch alarm named in
#                        auto_rollback_configuration (`alarms:` in smstate.yaml: more
#                        than 10% of a minute's invocations answered 5xx) fires during
#                        the canary bake and the endpoint rolls back to v1
#
# Builds the artifacts, starts a local server on 127.0.0.1:8766 (its home under
# build/), applies v1, invokes the endpoint continuously in the background (a line a
# second: the share of responses per version), applies the new release while smstate
# prints each rollout stage, shows `smstate rollout status`, then destroys everything
# and stops the server it started.
#
# The policy in smstate.yaml is a production one (300 s bakes); the demo runs the local
# server's clock at SMSTATE_LOCAL_TIME_SCALE=0.015 so that a 300 s bake takes 4.5 s.
# The policy itself is unchanged: DescribeEndpoint and the stage lines still say 300 s.
set -euo pipefail
mode="${1:-}"
case "$mode" in
  canary) release=v2 ;;
  rollback) release=bad ;;
  *) echo "usage: $0 canary|rollback" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="$here/build/local"
export SMSTATE_LOCAL_TIME_SCALE="${SMSTATE_LOCAL_TIME_SCALE:-0.015}"
url=http://127.0.0.1:8766
traffic_pid=""

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$traffic_pid" ]; then kill "$traffic_pid" 2>/dev/null || true; wait "$traffic_pid" 2>/dev/null || true; fi
  step "smstate destroy"
  smstate destroy --auto-approve || status=1
  step "smstate local stop"
  smstate local stop || status=1
  exit "$status"
}

step "Build build/v1.tar.gz, build/v2.tar.gz and build/bad.tar.gz"
python build.py

step "smstate local start (127.0.0.1:8766, home build/local, time scale $SMSTATE_LOCAL_TIME_SCALE)"
smstate local start
trap cleanup EXIT
trap 'exit 130' INT TERM

step "smstate apply: v1, and the alarm auto-rollback watches (scorer-5xx-rate)"
smstate apply --auto-approve --var artifact=./build/v1.tar.gz

step "Background traffic: the share of responses per model version, every second"
python traffic.py scorer --url "$url" &
traffic_pid=$!
sleep 2

step "smstate apply: $release (canary 25%, bake, then the rest)"
applied=0
smstate apply --auto-approve --var artifact="./build/$release.tar.gz" || applied=$?
sleep 2
kill "$traffic_pid"; wait "$traffic_pid" 2>/dev/null || true
traffic_pid=""

step "smstate rollout status scorer"
smstate rollout status scorer

if [ "$mode" = canary ]; then
  [ "$applied" -eq 0 ] || { echo "the canary rollout failed (exit $applied)" >&2; exit 1; }
else
  [ "$applied" -eq 1 ] || { echo "expected the rollout to roll back and smstate to exit 1, got exit $applied" >&2; exit 1; }
  step "smstate plan: the update is offered again (v1 still serves)"
  smstate plan --var artifact="./build/$release.tar.gz" || true
fi

#!/usr/bin/env bash
# Inference components on the local SageMaker, end to end, in one command:
#
#   ./demo.sh            two models on one endpoint; roll one to a new model under traffic;
#                        scale its copies; load the other until Application Auto Scaling
#                        adds copies, and watch them go back; re-plan clean; destroy
#   ./demo.sh rollback   roll it to a model that cannot load: the update rolls back and
#                        smstate exits 1, saying why
#
# Builds the artifacts, starts a local server on 127.0.0.1:8768 (its home under build/),
# applies, invokes each component by name, runs the bounded traffic script on both
# components while smstate rolls the sentiment component one copy at a time, shows
# `smstate rollout status`, then destroys everything and stops the server it started.
# The policy waits 120 s after each batch; the demo runs the local server's clock at
# SMSTATE_LOCAL_TIME_SCALE=0.02 so that a wait takes 2.4 s.
set -euo pipefail
mode="${1:-roll}"
case "$mode" in
  roll) release=sentiment-v2 ;;
  rollback) release=broken ;;
  *) echo "usage: $0 [roll|rollback]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="$here/build/local"
export SMSTATE_LOCAL_TIME_SCALE="${SMSTATE_LOCAL_TIME_SCALE:-0.02}"
url=http://127.0.0.1:8768
traffic_pid=""

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$traffic_pid" ]; then kill "$traffic_pid" 2>/dev/null || true; wait "$traffic_pid" 2>/dev/null || true; fi
  step "smstate destroy (the components first, then the endpoint)"
  smstate destroy --auto-approve || status=1
  step "smstate local stop"
  smstate local stop || status=1
  exit "$status"
}

# Poll `rollout status` until the topics component is back at 1 copy (at most a minute).
topics_back_to_one() {
  local copies=""
  for _ in $(seq 60); do
    copies=$(smstate rollout status shared --json | python -c 'import json, sys
print([c["copies"] for c in json.load(sys.stdin)["components"] if c["name"] == "topics"][0])')
    if [ "$copies" = 1 ]; then echo "    topics copies: 1"; return 0; fi
    sleep 1
  done
  echo "topics still has $copies copies" >&2
  return 1
}

step "Build the model archives in build/"
python build.py

step "smstate local start (127.0.0.1:8768, home build/local, time scale $SMSTATE_LOCAL_TIME_SCALE)"
smstate local start
trap cleanup EXIT
trap 'exit 130' INT TERM

step "smstate apply: one endpoint, two inference components"
smstate apply --auto-approve

step "smstate invoke shared --inference-component ..."
smstate invoke shared --inference-component sentiment --body '"great service, late parcel"'
smstate invoke shared --inference-component topics --body '"great service, late parcel"'

step "Bounded traffic on both components (at most 120 s)"
python traffic.py shared sentiment topics --url "$url" --seconds 120 &
traffic_pid=$!
sleep 2

step "smstate apply: sentiment -> $release, one copy at a time"
applied=0
smstate apply --auto-approve --var sentiment="./build/$release.tar.gz" || applied=$?
sleep 1
kill -TERM "$traffic_pid"
traffic=0
wait "$traffic_pid" || traffic=$?
traffic_pid=""
[ "$traffic" -eq 0 ] || { echo "requests failed during the rollout" >&2; exit 1; }

step "smstate rollout status shared"
smstate rollout status shared

if [ "$mode" = rollback ]; then
  [ "$applied" -eq 1 ] || { echo "expected the update to roll back and smstate to exit 1, got exit $applied" >&2; exit 1; }
  step "smstate plan: the update is offered again (v1 still serves)"
  smstate plan --var sentiment="./build/$release.tar.gz" || true
  exit 0
fi
[ "$applied" -eq 0 ] || { echo "the rolling update failed (exit $applied)" >&2; exit 1; }

for copies in 4 1; do
  step "smstate apply: $copies sentiment copies (UpdateInferenceComponentRuntimeConfig)"
  smstate apply --auto-approve --var sentiment=./build/sentiment-v2.tar.gz --var copies="$copies"
  smstate rollout status shared
done

step "Wait for topics to be at 1 copy (the rollout's traffic may have scaled it)"
topics_back_to_one

step "Heavy traffic on topics (4 clients, 30 s): Application Auto Scaling adds copies"
python traffic.py shared topics topics topics topics --url "$url" --seconds 30 > build/topics-traffic.log &
traffic_pid=$!
while kill -0 "$traffic_pid" 2>/dev/null; do
  sleep 2
  smstate rollout status shared --json | python -c 'import json, sys
shown = {c["name"]: (c["copies"], c["desired_copies"]) for c in json.load(sys.stdin)["components"]}
print("    topics copies (current, desired):", shown["topics"])'
done
wait "$traffic_pid" || { traffic_pid=""; echo "requests failed under load" >&2; exit 1; }
traffic_pid=""
tail -1 build/topics-traffic.log
smstate rollout status shared

step "The load is over: after 15 quiet minutes (18 s at this time scale) the copies go back to 1"
topics_back_to_one
smstate rollout status shared

step "smstate plan: no changes"
smstate plan --detailed-exitcode --var sentiment=./build/sentiment-v2.tar.gz --var copies=1

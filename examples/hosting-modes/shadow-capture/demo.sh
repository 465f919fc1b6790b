#!/usr/bin/env bash
# A shadow variant with data capture on the local target, end to end: apply, invoke,
# read the captured requests and responses of both variants from S3, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "An S3 for the local target (a moto server unless AWS_ENDPOINT_URL_S3 is set)"
source ../local-s3.sh
capture="s3://$DEMO_BUCKET/capture"

step "Build the current and the candidate model"
python build.py

step "smstate apply"
smstate apply --auto-approve --var "capture_uri=$capture"
url="$(smstate local status --json | python -c 'import json, sys; print(json.load(sys.stdin)["url"])')"

step "DescribeEndpoint: the capture summary and the shadow variant"
aws sagemaker describe-endpoint --endpoint-url "$url" --endpoint-name scorer \
  --query '{DataCaptureConfig: DataCaptureConfig, ShadowProductionVariants: ShadowProductionVariants[].[VariantName, CurrentInstanceCount]}'

for n in 1 2 3; do
  step "smstate invoke scorer (always answered by the current model)"
  smstate invoke scorer --content-type application/json --body "{\"features\": [$n, 2, 3]}"
done

step "The captured events, per variant (written within a second or so)"
python - "$capture" 6 <<'PY'
import json, sys, time, boto3
bucket, _, prefix = sys.argv[1].removeprefix("s3://").partition("/")
expected = int(sys.argv[2])  # 3 requests, each captured for both variants
s3 = boto3.client("s3")

def captured():
    found = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        lines = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode().splitlines()
        found[obj["Key"]] = [json.loads(line)["captureData"] for line in lines]
    return found

deadline = time.monotonic() + 30
while sum(map(len, (found := captured()).values())) < expected and time.monotonic() < deadline:
    time.sleep(0.5)
for key, events in found.items():
    print(key)
    for event in events:
        print("   ", event["endpointInput"]["data"], "->", event["endpointOutput"]["data"])
PY

step "smstate destroy"
smstate destroy --auto-approve --var "capture_uri=$capture"

step "smstate local stop"
smstate local stop

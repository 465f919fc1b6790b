#!/usr/bin/env bash
# A shadow variant with data capture on the local target, end to end: apply, invoke,
# read the captured requests and responses of both variants from S3, destroy, stop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export SMSTATE_LOCAL_HOME="${SMSTATE_LOCAL_HOME:-$here/build/local}"
url="${SMSTATE_URL:-http://127.0.0.1:8765}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "An S3 for the local target (a moto server unless AWS_ENDPOINT_URL_S3 is set)"
source ../local-s3.sh
capture="s3://$DEMO_BUCKET/capture"

step "Build the current and the candidate model"
python build.py

step "smstate apply"
smstate apply --auto-approve --var "capture_uri=$capture"

step "DescribeEndpoint: the capture summary and the shadow variant"
aws sagemaker describe-endpoint --endpoint-url "$url" --endpoint-name scorer \
  --query '{DataCaptureConfig: DataCaptureConfig, ShadowProductionVariants: ShadowProductionVariants[].[VariantName, CurrentInstanceCount]}'

for n in 1 2 3; do
  step "smstate invoke scorer (always answered by the current model)"
  smstate invoke scorer --content-type application/json --body "{\"features\": [$n, 2, 3]}"
done

step "The captured events, per variant (written within a second or so)"
sleep 2
python - "$capture" <<'PY'
import json, sys, boto3
bucket, _, prefix = sys.argv[1].removeprefix("s3://").partition("/")
s3 = boto3.client("s3")
for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
    print(obj["Key"])
    for line in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode().splitlines():
        event = json.loads(line)["captureData"]
        print("   ", event["endpointInput"]["data"], "->", event["endpointOutput"]["data"])
PY

step "smstate destroy"
smstate destroy --auto-approve --var "capture_uri=$capture"

step "smstate local stop"
smstate local stop

# Sourced by the hosting-mode demos: an S3 for the local target to read and write.
# With AWS_ENDPOINT_URL_S3 already set (MinIO, LocalStack, real S3 with credentials),
# that one is used; otherwise a moto server is started on 127.0.0.1:${S3_PORT:-5077}
# and stopped (waited for) when the demo exits. Either way the bucket $DEMO_BUCKET exists afterwards.
export DEMO_BUCKET="${DEMO_BUCKET:-smstate-demo}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
if [ -z "${AWS_ENDPOINT_URL_S3:-}" ]; then
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:${S3_PORT:-5077}"
  python -m moto.server -H 127.0.0.1 -p "${S3_PORT:-5077}" >"${TMPDIR:-/tmp}/smstate-demo-s3.log" 2>&1 &
  s3_pid=$!
  trap 'kill "$s3_pid" 2>/dev/null && wait "$s3_pid" 2>/dev/null; true' EXIT
  for _ in $(seq 100); do
    python -c "import urllib.request, os; urllib.request.urlopen(os.environ['AWS_ENDPOINT_URL_S3'])" 2>/dev/null && break
    sleep 0.1
  done
fi
python - <<'PY'
import boto3, os
s3 = boto3.client("s3")
bucket = os.environ["DEMO_BUCKET"]
if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket=bucket)
PY

#!/usr/bin/env bash
# Build the docker-runtime test image without any registry and print its tag.
#
# The image is what `docker run IMAGE serve` needs, as SageMaker local mode runs it:
# a Debian bookworm minbase root filesystem with python3 (made by debootstrap from
# the Debian mirror); providers/local/hosting/model_server.py, which runs on the
# standard library alone; a `serve` command that starts it on port 8080; and the
# quickstart model's libraries (scikit-learn and its dependencies), copied from
# $PYTHON's site-packages so the model unpickles with the versions that trained it.
#
# Caches keep reruns fast: the root filesystem tarball under
# ${SMSTATE_CACHE:-~/.cache/smstate}, the base image `smstate-test-base:bookworm`,
# and the serve image itself, tagged by the hash of model_server.py and the copied
# package versions.
#
# Needs a reachable Docker engine, and debootstrap (apt-get install -y debootstrap)
# the first time only. PYTHON (default: the repo's .venv) must be CPython 3.11, like
# bookworm's python3. DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server="$repo/providers/local/hosting/model_server.py"
python="${PYTHON:-$repo/.venv/bin/python}"
packages="${SERVE_IMAGE_PACKAGES:-scikit-learn joblib}"
cache="${SMSTATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smstate}"
rootfs_tar="$cache/bookworm-python3-rootfs.tar"
base="smstate-test-base:bookworm"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# Copy every file of the packages and of their dependencies (extras excluded).
"$python" - "$ctx/site" $packages > "$ctx/versions" <<'PY'
import importlib.metadata as md, re, shutil, sys
from pathlib import Path
if sys.version_info[:2] != (3, 11):
    sys.exit("build_serve_image.sh: PYTHON must be CPython 3.11 (bookworm's python3)")
target, todo, seen = Path(sys.argv[1]), list(sys.argv[2:]), set()
while todo:
    name = re.split(r"[^A-Za-z0-9._-]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
    if name in seen:
        continue
    seen.add(name)
    dist = md.distribution(name)
    print(name, dist.version)
    todo += [r for r in dist.requires or [] if "extra ==" not in r]
    for file in dist.files or []:
        source = Path(dist.locate_file(file))
        if ".." in file.parts or "__pycache__" in file.parts or not source.is_file():
            continue
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / file)
PY
tag="smstate-test-serve:$(cat "$server" "$ctx/versions" | sha256sum | cut -c1-12)"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ ! -f "$rootfs_tar" ]; then
    command -v debootstrap >/dev/null || {
      echo "build_serve_image.sh: needs debootstrap (apt-get install -y debootstrap)" >&2
      exit 2
    }
    mkdir -p "$cache"
    debootstrap --variant=minbase --include=python3 bookworm "$ctx/rootfs" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
    rm -rf "$ctx"/rootfs/var/cache/apt/archives/*.deb "$ctx"/rootfs/var/lib/apt/lists/*
    tar -C "$ctx/rootfs" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$ctx/rootfs"
  fi
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV PYTHONUNBUFFERED=1' \
    "$rootfs_tar" "$base" >&2
fi

cp "$server" "$ctx/model_server.py"
cat > "$ctx/serve" <<'SH'
#!/bin/sh
exec python3 /opt/smstate/model_server.py --model-dir /opt/ml/model --host 0.0.0.0 --port 8080
SH
chmod 755 "$ctx/serve"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY site /usr/local/lib/python3.11/dist-packages
COPY model_server.py /opt/smstate/model_server.py
COPY serve /usr/local/bin/serve
EXPOSE 8080
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >&2
echo "$tag"

#!/usr/bin/env bash
# Build the docker-runtime test image without any registry and print its tag.
#
# The image is what `docker run IMAGE serve` needs, as SageMaker local mode runs it:
# a Debian bookworm minbase root filesystem with bare python3 (made by debootstrap
# from the Debian mirror), plus providers/local/hosting/model_server.py, which runs
# on the standard library alone, and a `serve` command that starts it on port 8080.
#
# Two caches keep reruns fast: the root filesystem tarball under
# ${SMSTATE_CACHE:-~/.cache/smstate} and the base image `smstate-test-base:bookworm`.
# The serve image is tagged by the hash of model_server.py, so editing the server
# rebuilds only the thin top layer.
#
# Needs: a reachable Docker engine; debootstrap (apt-get install -y debootstrap)
# the first time only. DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
server="$here/../../providers/local/hosting/model_server.py"
cache="${SMSTATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smstate}"
rootfs_tar="$cache/bookworm-python3-rootfs.tar"
base="smstate-test-base:bookworm"
tag="smstate-test-serve:$(sha256sum "$server" | cut -c1-12)"

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
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase --include=python3 bookworm "$work/rootfs" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
  fi
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV PYTHONUNBUFFERED=1' \
    "$rootfs_tar" "$base" >&2
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$server" "$ctx/model_server.py"
cat > "$ctx/serve" <<'SH'
#!/bin/sh
exec python3 /opt/smstate/model_server.py --model-dir /opt/ml/model --host 0.0.0.0 --port 8080
SH
chmod 755 "$ctx/serve"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY model_server.py /opt/smstate/model_server.py
COPY serve /usr/local/bin/serve
EXPOSE 8080
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >&2
echo "$tag"

#!/usr/bin/env bash
# make image: the operator image from the project's own Dockerfile, with no registry and
# no Docker engine.
#   1. a Python base image from Debian packages (mmdebstrap: python3, python3-venv,
#      python-is-python3, ca-certificates, passwd), built once into the cache;
#   2. the Dockerfile built by buildah (chroot isolation, its own storage under the
#      cache), with --build-arg PYTHON_IMAGE pointing at that base: the same recipe a
#      registry-backed `docker build` uses, so the two cannot drift;
#   3. the result written as an OCI archive, opframe.local/opframe:dev, for a node to
#      import (ControlPlane(node=True).node.import_image, or the demo/tests).
# The machine's CA bundle is bind-mounted into the build's RUN steps (pip reaches PyPI
# through this network's TLS proxy); nothing of it is stored in the image.
# Invariants: an archive appears only when complete; every failure prints one line
# naming the cause and the fix, and exits non-zero.
set -euo pipefail

CACHE_ROOT="${OPFRAME_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opframe}"
DEST="${CACHE_ROOT}/images"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
MIRROR="${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)}"
STORE=(--root "$CACHE_ROOT/buildah/storage" --runroot "$CACHE_ROOT/buildah/run" --storage-driver vfs)

fail() { echo "image: $*" >&2; exit 1; }

missing=()
for package in buildah mmdebstrap; do
  command -v "$package" >/dev/null 2>&1 || missing+=("$package")
done
if (( ${#missing[@]} )); then
  [[ "$(id -u)" == 0 ]] || fail "missing Debian packages: ${missing[*]}; run 'sudo apt-get install -y ${missing[*]}'"
  echo "image: installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || fail "apt-get could not install ${missing[*]}; check the Debian mirror (apt-get update) and retry"
  fi
fi
mkdir -p "$DEST" || fail "cannot create $DEST; set OPFRAME_CACHE_DIR to a writable folder"

# v2: the base's image config carries one history entry per layer (an image built FROM opframe's
# is refused by buildah without them); a cache of the first version is rebuilt once.
BASE="$DEST/python-base-v2.tar"
start=$SECONDS
if [[ ! -f "$BASE" ]]; then
  echo "image: building the Python base from Debian bookworm ($MIRROR)"
  rootfs="$(mktemp "$DEST/.rootfs.XXXXXX.tar")"
  trap 'rm -f "$rootfs"' EXIT
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates,passwd \
      --mode=root bookworm "$rootfs" "$MIRROR" \
    || fail "mmdebstrap could not build the base from $MIRROR; check that the mirror is reachable (or set DEBIAN_MIRROR)"
  "$PYTHON" -c "import sys; from pathlib import Path; from opframe.testing.images import oci_archive; \
oci_archive(Path(sys.argv[1]), 'opframe.local/python-base:bookworm', [Path(sys.argv[2])], cmd=['python3'])" \
      "$BASE" "$rootfs" || fail "could not write the base image archive"
  rm -f "$rootfs"
  trap - EXIT
fi

# The image is rebuilt only when what the Dockerfile copies (or the Dockerfile) changed.
inputs="$(cd "$ROOT" && { basename "$BASE"; cat Dockerfile pyproject.toml README.md $(find opframe -name '*.py' | sort); } | sha256sum | cut -c1-64)"
if [[ -f "$DEST/opframe.tar" && "$(cat "$DEST/opframe.inputs" 2>/dev/null)" == "$inputs" ]]; then
  echo "image: opframe.local/opframe:dev is up to date in $DEST/opframe.tar"
  exit 0
fi

certs=()
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && certs=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
echo "image: building the Dockerfile with buildah"
buildah "${STORE[@]}" bud --quiet --isolation chroot "${certs[@]}" \
    --build-arg "PYTHON_IMAGE=oci-archive:$BASE" -t opframe.local/opframe:dev -f "$ROOT/Dockerfile" "$ROOT" >/dev/null \
  || fail "buildah could not build the Dockerfile (its errors are above); fix the failing step and run 'make image' again"
partial="$DEST/.opframe.tar.partial"
rm -f "$partial"
buildah "${STORE[@]}" push --quiet opframe.local/opframe:dev "oci-archive:$partial:opframe.local/opframe:dev" \
  || fail "buildah could not write the image archive to $DEST"
mv -f "$partial" "$DEST/opframe.tar"
echo "$inputs" > "$DEST/opframe.inputs"
buildah "${STORE[@]}" rmi --prune >/dev/null 2>&1 || true
echo "image: opframe.local/opframe:dev in $DEST/opframe.tar ($(du -m "$DEST/opframe.tar" | cut -f1) MB) after $((SECONDS - start)) s"

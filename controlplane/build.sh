#!/usr/bin/env bash
# Build kube-apiserver, etcd and a kubectl of the same version from the Go module proxy into the
# cache folder (a kubectl of another minor version warns of version skew against this server).
#
# Invariants:
#   * a no-op when both binaries are present (a cold build takes many minutes);
#   * a binary appears in the cache only when its build finished: each is linked
#     to a temporary name in the same folder and renamed, so an interrupted or
#     failed build never leaves a half-written binary behind;
#   * every failure prints one line naming the cause and the fix, and exits non-zero.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
CACHE_ROOT="${OPFRAME_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opframe}"
DEST="${CACHE_ROOT}/controlplane/${K8S_VERSION}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "controlplane: $*" >&2; exit 1; }

if [[ -x "$DEST/kube-apiserver" && -x "$DEST/etcd" && -x "$DEST/kubectl" ]]; then
  echo "controlplane: kube-apiserver, etcd and kubectl ${K8S_VERSION} already built in $DEST"
  exit 0
fi

command -v go >/dev/null 2>&1 \
  || fail "no Go toolchain on PATH; install Go >= 1.26 (https://go.dev/doc/install, or Debian's golang package) and run 'make controlplane' again"

GO_MINOR="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
[[ "$GO_MINOR" =~ ^[0-9]+$ && "$GO_MINOR" -ge 26 ]] \
  || fail "Go $(go env GOVERSION) is too old: Kubernetes ${K8S_VERSION} needs Go >= 1.26; install a newer Go and run 'make controlplane' again"

mkdir -p "$DEST" || fail "cannot create the cache folder $DEST; set OPFRAME_CACHE_DIR to a writable folder"

# shellcheck source=controlplane/ldflags.sh
source "$HERE/ldflags.sh"

build() { # build NAME PACKAGE LDFLAGS
  local name="$1" pkg="$2" flags="$3" tmp
  [[ -x "$DEST/$name" ]] && return 0
  tmp="$(mktemp "$DEST/.${name}.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT INT TERM
  echo "controlplane: building $name from $pkg into $DEST (a cold build takes many minutes)"
  local start=$SECONDS
  if ! (cd "$HERE" && CGO_ENABLED=0 go build -trimpath -o "$tmp" -ldflags "$flags" "$pkg"); then
    rm -f "$tmp"
    fail "building $name failed (see the Go errors above); check that the Go module proxy is reachable (go env GOPROXY) and that the disk has space, then run 'make controlplane' again"
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$DEST/$name"
  trap - EXIT INT TERM
  echo "controlplane: built $name in $((SECONDS - start)) s"
}

build etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$LDFLAGS"
build kubectl k8s.io/kubernetes/cmd/kubectl "$LDFLAGS"
echo "controlplane: ready in $DEST"

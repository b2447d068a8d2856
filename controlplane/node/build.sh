#!/usr/bin/env bash
# Everything a node needs (opframe cluster up --node, ControlPlane(node=True)):
#   * Debian packages: containerd, runc, the CNI plugins, iptables, gcc (the pause image);
#     installed with apt-get when missing (root needed; a clear error otherwise);
#   * kubelet, kube-controller-manager, kube-scheduler and kube-proxy, built from the Go
#     module proxy into the cache folder (a no-op when present).
# Invariants as in ../build.sh: a binary appears only when its build finished; every
# failure prints one line naming the cause and the fix, and exits non-zero.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
CACHE_ROOT="${OPFRAME_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opframe}"
DEST="${CACHE_ROOT}/node/${K8S_VERSION}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES=(containerd runc containernetworking-plugins iptables gcc libc6-dev util-linux iproute2)

fail() { echo "node: $*" >&2; exit 1; }

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
  [[ "$(id -u)" == 0 ]] || fail "missing Debian packages: ${missing[*]}; run 'sudo apt-get install -y ${missing[*]}' (or 'make node' as root)"
  echo "node: installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || fail "apt-get could not install ${missing[*]}; check the Debian mirror (apt-get update) and retry"
  fi
fi

names=(kubelet kube-controller-manager kube-scheduler kube-proxy)
all=1
for name in "${names[@]}"; do [[ -x "$DEST/$name" ]] || all=0; done
if (( all )); then
  echo "node: kubelet, kube-controller-manager, kube-scheduler and kube-proxy ${K8S_VERSION} already built in $DEST"
  exit 0
fi
command -v go >/dev/null 2>&1 || fail "no Go toolchain on PATH; install Go >= 1.26 and run 'make node' again"
mkdir -p "$DEST" || fail "cannot create the cache folder $DEST; set OPFRAME_CACHE_DIR to a writable folder"

# shellcheck source=controlplane/ldflags.sh
source "$HERE/../ldflags.sh"

for name in "${names[@]}"; do
  [[ -x "$DEST/$name" ]] && continue
  tmp="$(mktemp "$DEST/.${name}.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT INT TERM
  echo "node: building $name into $DEST (a cold build takes minutes)"
  start=$SECONDS
  if ! (cd "$HERE" && CGO_ENABLED=0 go build -trimpath -o "$tmp" -ldflags "$LDFLAGS" "k8s.io/kubernetes/cmd/$name"); then
    rm -f "$tmp"
    fail "building $name failed (see the Go errors above); check that the Go module proxy is reachable (go env GOPROXY) and that the disk has space, then run 'make node' again"
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$DEST/$name"
  trap - EXIT INT TERM
  echo "node: built $name in $((SECONDS - start)) s"
done
echo "node: ready in $DEST"

#!/usr/bin/env bash
# Build helm from the Go module proxy into the cache; a no-op when it is there.
# Same invariants as controlplane/build.sh: atomic rename, one-line errors naming the fix.
set -euo pipefail
HELM_VERSION="v3.22.0"
CACHE_ROOT="${OPFRAME_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opframe}"
DEST="${CACHE_ROOT}/tools/helm-${HELM_VERSION}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fail() { echo "helm: $*" >&2; exit 1; }
[[ -x "$DEST/helm" ]] && { echo "helm: ${HELM_VERSION} already built in $DEST"; exit 0; }
command -v go >/dev/null 2>&1 || fail "no Go toolchain on PATH; install Go >= 1.26 and run 'make helm' again"
mkdir -p "$DEST"
tmp="$(mktemp "$DEST/.helm.XXXXXX")"
trap 'rm -f "$tmp"' EXIT INT TERM
echo "helm: building ${HELM_VERSION} into $DEST"
start=$SECONDS
(cd "$HERE" && CGO_ENABLED=0 go build -trimpath -o "$tmp" -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" helm.sh/helm/v3/cmd/helm) \
  || fail "building helm failed (see the Go errors above); check that the Go module proxy is reachable, then run 'make helm' again"
chmod 0755 "$tmp" && mv -f "$tmp" "$DEST/helm" && trap - EXIT INT TERM
echo "helm: built in $((SECONDS - start)) s"

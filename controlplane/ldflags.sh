# Sourced by build.sh and node/build.sh: the version stamp every Kubernetes binary gets,
# so that /version and `--version` report the release the modules pin.
MINOR="$(echo "$K8S_VERSION" | sed -E 's/^v1\.([0-9]+)\..*/\1/')"
LDFLAGS="-s -w \
 -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=${MINOR} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"

"""OCI images built locally, for a node that can pull from no registry.

``oci_archive()`` writes an OCI image layout as one tar (``ctr images import`` reads
it): uncompressed layers, a config, a manifest and an index whose manifest carries
the image's name. ``pause_image()`` builds the pod sandbox image: a static ``pause``
binary (gcc -static; it sleeps until a signal) as the only file.

Invariant: an archive is written under a temporary name and renamed, so a folder never
holds a half-written image; the same inputs give the same digests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PAUSE_SOURCE = r"""
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void stop(int signal_number) { (void)signal_number; exit(0); }
int main(void) {
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    for (;;) pause();
}
"""


#: A pod's view of the API server through the in-cluster configuration, as any client
#: library reads it: the ServiceAccount token and CA mounted by the kubelet, and
#: KUBERNETES_SERVICE_HOST/PORT (the kubernetes Service). It lists the pods of its own
#: namespace and reports "<status> <url> <bytes>" as its termination message.
API_PROBE_SOURCE = r"""package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	dir := "/var/run/secrets/kubernetes.io/serviceaccount/"
	token, err := os.ReadFile(dir + "token")
	if err != nil {
		finish(fmt.Sprintf("no token: %v", err))
	}
	ca, err := os.ReadFile(dir + "ca.crt")
	if err != nil {
		finish(fmt.Sprintf("no ca.crt: %v", err))
	}
	namespace, _ := os.ReadFile(dir + "namespace")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := fmt.Sprintf("https://%s:%s/api/v1/namespaces/%s/pods", os.Getenv("KUBERNETES_SERVICE_HOST"),
		os.Getenv("KUBERNETES_SERVICE_PORT"), namespace)
	request, _ := http.NewRequest("GET", url, nil)
	request.Header.Set("Authorization", "Bearer "+string(token))
	response, err := client.Do(request)
	if err != nil {
		finish(fmt.Sprintf("request failed: %v", err))
	}
	body, _ := io.ReadAll(response.Body)
	finish(fmt.Sprintf("%d %s %d", response.StatusCode, url, len(body)))
}

func finish(message string) {
	os.WriteFile("/dev/termination-log", []byte(message), 0o644)
	fmt.Println(message)
	os.Exit(0)
}
"""


#: A small web server, where no nginx image can be pulled: serves the folder nginx
#: would (/usr/share/nginx/html) on port 80.
WEB_SOURCE = r"""
package main

import (
	"log"
	"net/http"
)

func main() {
	log.Fatal(http.ListenAndServe(":80", http.FileServer(http.Dir("/usr/share/nginx/html"))))
}
"""
#: Sleeps, then exits with a code: ``/sleeper <seconds> <exit code>`` (a pod that runs and ends).
SLEEPER_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    printf("sleeper: sleeping %s s, then exiting with %s\n", argc > 1 ? argv[1] : "0", argc > 2 ? argv[2] : "0");
    fflush(stdout);
    if (argc > 1) sleep((unsigned)atoi(argv[1]));
    return argc > 2 ? atoi(argv[2]) : 0;
}
"""


class ImageError(RuntimeError):
    """An image could not be built; the message names the cause and the fix."""


def layer_from_files(files: dict[str, tuple[bytes, int]]) -> bytes:
    """An uncompressed layer tar holding ``path -> (content, mode)``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(content)
            info.mode = mode
            info.mtime = 0
            layer.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def oci_archive(path: Path, name: str, layers: Sequence[Path | bytes], *, entrypoint: Sequence[str] = (),
                cmd: Sequence[str] = (), env: Sequence[str] = (), user: str = "",
                workdir: str = "") -> Path:
    """Write the OCI image ``name`` (e.g. ``opframe.local/pause:1``) as an OCI layout tar at ``path``."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer_descriptors = []
    diff_ids = []
    for layer in layers:
        data = layer.read_bytes() if isinstance(layer, Path) else layer
        layer_descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", **blob(data)})
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
    config: dict[str, Any] = {"Env": list(env) or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if entrypoint:
        config["Entrypoint"] = list(entrypoint)
    if cmd:
        config["Cmd"] = list(cmd)
    if user:
        config["User"] = user
    if workdir:
        config["WorkingDir"] = workdir
    # One history entry per layer: image builders (buildah, docker) that build FROM this image count
    # its non-empty history entries against its layers, and refuse an image without them.
    history = [{"created": "1970-01-01T00:00:00Z", "created_by": f"opframe.testing.images: layer {number + 1}"}
               for number in range(len(diff_ids))]
    image_config = json.dumps({"architecture": "amd64", "os": "linux", "config": config, "history": history,
                               "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      **blob(image_config)},
                           "layers": layer_descriptors}, sort_keys=True).encode()
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest),
        "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}}]},
        sort_keys=True).encode()
    partial = path.with_name(f".{path.name}.partial")
    with tarfile.open(partial, "w") as archive:
        entries = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": index}
        entries.update({f"blobs/sha256/{digest.split(':', 1)[1]}": data for digest, data in blobs.items()})
        for entry, data in entries.items():
            info = tarfile.TarInfo(entry)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    os.replace(partial, path)
    return path


def archive_names(path: Path) -> set[str]:
    """The image names (``io.containerd.image.name``) an OCI layout tar's index gives its manifests;
    empty when the archive is not such a tar (its import then fails with the reason)."""
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile("index.json")
            index = json.loads(member.read()) if member is not None else {}
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return set()
    return {str((manifest.get("annotations") or {}).get("io.containerd.image.name"))
            for manifest in index.get("manifests") or [] if isinstance(manifest, dict)} - {"None"}


def pause_image(folder: Path) -> Path:
    """The pod sandbox image, ``opframe.local/pause:1``: a static ``/pause`` that sleeps until a signal."""
    return _static_image(folder, "pause", PAUSE_SOURCE, "c")


def _static_image(folder: Path, name: str, source: str, language: str) -> Path:
    """``opframe.local/<name>:1`` holding one static binary ``/<name>`` (built from C or Go) as its entrypoint."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / f"{name}.tar"
    if archive.exists():
        return archive
    source_file = folder / f"{name}.{language}"
    source_file.write_text(source)
    binary = folder / name
    if language == "go":
        command = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), source_file.name]
        env = {**os.environ, "CGO_ENABLED": "0", "GO111MODULE": "off"}
        fix = "install Go"
    else:
        command = ["gcc", "-static", "-Os", "-s", "-o", str(binary), source_file.name]
        env = dict(os.environ)
        fix = "install gcc and the static C library (Debian: gcc libc6-dev)"
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(f"building the {name} binary failed: {result.stderr.strip()[-300:]}; {fix}")
    layer = layer_from_files({name: (binary.read_bytes(), 0o755)})
    return oci_archive(archive, f"opframe.local/{name}:1", [layer], entrypoint=[f"/{name}"])


def api_probe_image(folder: Path) -> Path:
    """``opframe.local/api-probe:1``: a static Go binary that calls the API server as a pod would."""
    return _static_image(folder, "api-probe", API_PROBE_SOURCE, "go")


def web_image(folder: Path) -> Path:
    """``opframe.local/web:1``: serves /usr/share/nginx/html on port 80 (a stand-in for nginx)."""
    return _static_image(folder, "web", WEB_SOURCE, "go")


def sleeper_image(folder: Path) -> Path:
    """``opframe.local/sleeper:1``: ``/sleeper <seconds> <exit code>``, saying so on stdout first."""
    return _static_image(folder, "sleeper", SLEEPER_SOURCE, "c")


def opframe_image_archive() -> Path:
    """The operator image ``make image`` builds from the Dockerfile, ``opframe.local/opframe:dev``."""
    from opframe.testing.controlplane import cache_root

    return cache_root() / "images" / "opframe.tar"


def buildah_command() -> list[str]:
    """buildah with opframe's own store under the cache (vfs: no kernel overlay needed), as ``make image``
    (tools/image/build.sh) uses it: images built here never land in the machine's container storage."""
    from opframe.testing.controlplane import cache_root

    store = cache_root() / "buildah"
    return ["buildah", "--root", str(store / "storage"), "--runroot", str(store / "run"), "--storage-driver", "vfs"]


def build_image(context: Path, name: str, archive: Path, *, build_args: dict[str, str] | None = None,
                dockerfile: str = "Dockerfile") -> Path:
    """Build ``context``'s Dockerfile with buildah (no Docker engine, no registry: chroot isolation, a
    store under opframe's cache) into the OCI archive ``archive`` holding ``name``, for
    ``opframe cluster load`` or ``Node.import_image``. An operator's own image starts ``FROM`` opframe's:
    pass ``build_args={"OPFRAME_IMAGE": f"oci-archive:{opframe_image_archive()}"}`` to a Dockerfile that
    says ``ARG OPFRAME_IMAGE`` / ``FROM ${OPFRAME_IMAGE}``. Needs buildah (``make image`` installs it)."""
    arguments = [item for key, value in (build_args or {}).items() for item in ("--build-arg", f"{key}={value}")]
    steps = [
        (["bud", "--quiet", "--isolation", "chroot", *arguments, "-t", name, "-f", str(context / dockerfile),
          str(context)], f"buildah could not build {context / dockerfile}"),
        (["push", "--quiet", name, f"oci-archive:{archive.with_name(f'.{archive.name}.partial')}:{name}"],
         f"buildah could not write {archive}"),
        (["rmi", name], f"buildah could not remove its copy of {name}"),
    ]
    for command, failure in steps:
        try:
            result = subprocess.run([*buildah_command(), *command], capture_output=True, text=True, timeout=900,
                                    check=False)
        except FileNotFoundError:
            raise ImageError("buildah is not installed; run 'make image' (it installs buildah) or "
                             "'apt-get install buildah'") from None
        if result.returncode != 0:
            raise ImageError(f"{failure}: {result.stderr.strip()[-800:]}")
        if command[0] == "push":
            os.replace(archive.with_name(f".{archive.name}.partial"), archive)
    return archive

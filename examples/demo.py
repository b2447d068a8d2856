"""`make demo`: start the local control plane, apply a CRD and an object, show them, stop.

A later issue turns this into a real operator run; for now it shows that the control
plane opframe tests against is a real kube-apiserver backed by etcd.
"""

from __future__ import annotations

import sys
import time

from kubernetes import client

from opframe.testing import ControlPlane, ControlPlaneError

GROUP, VERSION, PLURAL = "demo.opframe.dev", "v1", "websites"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "website", "kind": "Website", "shortNames": ["ws"]},
        "versions": [{
            "name": VERSION, "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "domain": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1},
                }},
            }}},
        }],
    },
}


def step(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def main() -> int:
    started = time.monotonic()
    step("starting etcd and kube-apiserver on 127.0.0.1 ...")
    try:
        plane = ControlPlane()
        plane.start()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        step(f"control plane healthy in {time.monotonic() - started:.1f} s at {plane.server}")
        with plane.api_client() as api:
            version = client.VersionApi(api).get_code()
            step(f"GET /version -> {version.git_version} ({version.platform})")
            extensions = client.ApiextensionsV1Api(api)
            extensions.create_custom_resource_definition(CRD)
            while True:
                crd = extensions.read_custom_resource_definition(f"{PLURAL}.{GROUP}")
                if any(c.type == "Established" and c.status == "True"
                       for c in (crd.status.conditions or [])):
                    break
                time.sleep(0.1)
            step(f"applied CustomResourceDefinition {PLURAL}.{GROUP} (Established)")
            objects = client.CustomObjectsApi(api)
            website = {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "Website",
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {"domain": "hello.example.com", "replicas": 2},
            }
            created = objects.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, website)
            step(f"created Website default/hello (uid {created['metadata']['uid']}, "
                 f"resourceVersion {created['metadata']['resourceVersion']})")
            listed = objects.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
            for item in listed["items"]:
                step(f"  website {item['metadata']['namespace']}/{item['metadata']['name']}: "
                     f"spec={item['spec']}")
            try:
                objects.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, {
                    **website, "metadata": {"name": "bad", "namespace": "default"},
                    "spec": {"replicas": 0},
                })
            except client.ApiException as exc:
                step(f"the server validates the schema: a Website with replicas=0 gets {exc.status}")
    finally:
        plane.stop()
    step("control plane stopped, its data removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

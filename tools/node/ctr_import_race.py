"""Count ctr import failures with and without ``--index-name`` on a real node (a diagnosis aid).

    .venv/bin/python tools/node/ctr_import_race.py 120

Starts a control plane with a node, then ROUNDS times removes and imports the web test image
twice: "old" as Node.import_image did before (``--index-name`` together with an archive whose
index already names the image), "new" as it does now (no ``--index-name``). ctr 1.6 then
unpacks a stale image record after its import lease ended, and the garbage collector may
have taken the index blob ("content digest ...: not found"). Prints every failure and the
counts; stops everything it started.
"""

from __future__ import annotations

import subprocess
import sys

from opframe.testing import ControlPlane, images

IMAGE = "opframe.local/web:1"


def main(rounds: int) -> dict[str, int]:
    plane = ControlPlane(node=True)
    plane.start()
    try:
        node = plane.node
        assert node is not None
        archive = images.web_image(node.workdir / "images")
        ctr = ["ctr", "--address", str(node.containerd_socket), "--namespace", "k8s.io"]
        failures = {"old": 0, "new": 0}
        for _ in range(rounds):
            for mode in failures:
                extra = ["--index-name", IMAGE] if mode == "old" else []
                subprocess.run(node._inside([*ctr, "images", "rm", IMAGE]), capture_output=True, check=False)
                result = subprocess.run(node._inside([*ctr, "images", "import", *extra, str(archive)]),
                                        capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    failures[mode] += 1
                    print(mode, result.stderr.strip()[-200:], flush=True)
        print(f"failures in {rounds} imports each: {failures}")
        return failures
    finally:
        plane.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)

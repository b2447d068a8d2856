"""Benchmark: a CRD conversion webhook served by an opframe operator (resources declared as models in two
versions, a hub and a spoke), on one local control plane, same run: GETs of one object through the
version not stored (each converted by the webhook) against GETs through the storage version (none).

The operator is `opframe run` of examples/operators/sites/operator.py; the client keeps one
connection (opframe's KubeClient, its throttle off). Rounds alternate the two kinds of GET.

Usage: python bench/conversion.py [--gets 1000] [--rounds 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"mean": round(statistics.fmean(ms), 3), "p50": round(percentile(ms, 0.5), 3),
            "p99": round(percentile(ms, 0.99), 3), "min": round(min(ms), 3), "max": round(max(ms), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"{datetime.date.today()}-conversion.json")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from test_conversion import CRDS, OPERATOR, V1, V2

    from opframe.kube import ClientSettings, KubeClient, load_configuration
    from opframe.models.crds import definitions
    from opframe.testing import ControlPlane, eventually
    from opframe.testing.operator import OperatorProcess

    with ControlPlane() as plane, tempfile.TemporaryDirectory(prefix="opframe-bench-conversion-") as workdir:
        source = Path(workdir) / "sites.py"
        source.write_text(OPERATOR)
        spec = importlib.util.spec_from_file_location("bench_sites", source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_sites"] = module
        spec.loader.exec_module(module)
        client = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=5000, burst=5000))
        (crd,) = definitions([module.SiteV2, module.SiteV1])
        client.create(CRDS, crd)
        process = OperatorProcess([source], kubeconfig=plane.kubeconfig, args=["-n", "default", "--standalone"],
                                  env={"OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1", "OPFRAME_WEBHOOK_HOST": "127.0.0.1"})
        process.start().wait_started()
        try:
            body = {"apiVersion": "sites.opframe.dev/v2", "kind": "Site", "metadata": {"name": "shop"},
                    "spec": {"domain": "shop.example", "replicas": 3, "tls": True}}
            eventually(lambda: client.create(V2, body, namespace="default"), what="the CRD served", timeout=30)
            eventually(lambda: client.get(V1, "shop", namespace="default")["spec"]["host"] == "shop.example",
                       what="conversion in place", timeout=30)
            runs: dict[str, list[float]] = {"storage_version": [], "converted": []}
            for _ in range(options.rounds):
                for name, resource in (("storage_version", V2), ("converted", V1)):
                    for _ in range(20):  # warm-up
                        client.get(resource, "shop", namespace="default")
                    for _ in range(options.gets):
                        started = time.perf_counter()
                        client.get(resource, "shop", namespace="default")
                        runs[name].append(time.perf_counter() - started)
        finally:
            process.stop()
            client.close()
        version = plane.admin_get("/version")[1]
    figures = {name: summary(values) for name, values in runs.items()}
    added = {key: round(figures["converted"][key] - figures["storage_version"][key], 3) for key in ("p50", "p99")}
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
        "kube_apiserver": json.loads(version).get("gitVersion"), "gets_per_round": options.gets,
        "rounds": options.rounds, "get_ms": figures, "conversion_added_ms": added}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, figure in figures.items():
        print(f"{name:16s} p50 {figure['p50']:7.3f} ms  p99 {figure['p99']:7.3f} ms  (mean {figure['mean']:.3f})")
    print(f"added by the conversion webhook: p50 +{added['p50']} ms, p99 +{added['p99']} ms")
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the operator runtime as users run it (`opframe run`, its own process).

Figures, all observed from outside the operator:

* latency: changes at a steady rate (default 50/s for 20 s, spread over 50 ConfigMaps);
  for each, the time from the PATCH's API response to the handler's start (the
  handler journals its start time; both clocks are this machine's). p50, p99, max.
* burst: 50 updates to one object as fast as a client can, while its update handler
  sleeps 1 s; how many more times the handler runs, and whether the last saw the end.
* async: 200 objects created at once, each with an async on.create handler that
  awaits 1 s; seconds from the first create to the last handler's end (goal < 3 s
  with the default 16 workers: async handlers must not hold a worker each).
* writes: one update of an object watched by 3 update handlers; how many times the
  operator wrote the object (MODIFIED events after the update, counted by a watch),
  with handlers that return nothing and with handlers that return results (which go
  to the status subresource).

Usage: python bench/operator_runtime.py [--rate 50] [--seconds 20]
Writes bench/results/<date>-operator.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "examples" / "operators" / "website"))

OPERATOR = '''
import asyncio, json, os, time
from opframe import on
JOURNAL = os.environ["JOURNAL"]

def note(**entry):
    with open(JOURNAL, "a") as journal:
        journal.write(json.dumps(entry) + "\\n")

@on.update("configmaps", labels={"bench": "latency"})
def latency(name, new, **_):
    note(kind="latency", name=name, seq=new["data"]["seq"], at=time.time())

@on.update("configmaps", labels={"bench": "burst"})
def burst(name, new, **_):
    note(kind="burst", name=name, seq=new["data"]["seq"], at=time.time())
    time.sleep(1.0)

@on.create("configmaps", labels={"bench": "async"})
async def slow_async(name, **_):
    await asyncio.sleep(1.0)
    note(kind="async", name=name, at=time.time())

@on.update("websites.example.com", labels={"bench": "writes"})
def first(**_):
    pass

@on.update("websites.example.com", labels={"bench": "writes"})
def second(**_):
    pass

@on.update("websites.example.com", labels={"bench": "writes"})
def third(**_):
    pass

@on.update("websites.example.com", labels={"bench": "results"})
def first_result(**_):
    return {"ok": 1}

@on.update("websites.example.com", labels={"bench": "results"})
def second_result(**_):
    return {"ok": 2}

@on.update("websites.example.com", labels={"bench": "results"})
def third_result(**_):
    return {"ok": 3}
'''


def journal_entries(path: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(line) for line in path.read_text().splitlines() if line.strip())
            if e["kind"] == kind]


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--async-objects", type=int, default=200)
    options = parser.parse_args()

    import scenario

    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
    from opframe.testing import ControlPlane
    from opframe.testing.operator import OperatorProcess

    configmaps = Resource("", "v1", "configmaps", "ConfigMap")
    results: dict[str, Any] = {"date": datetime.date.today().isoformat(), "rate": options.rate,
                               "seconds": options.seconds}
    workdir = Path(tempfile.mkdtemp(prefix="opframe-bench-"))
    journal = workdir / "journal.jsonl"
    journal.touch()
    (workdir / "operator.py").write_text(OPERATOR)
    with ControlPlane() as plane:
        client = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=5000, burst=5000))
        scenario.install_crd(client)
        for i in range(50):
            client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": f"lat-{i:02d}", "namespace": "default",
                                                    "labels": {"bench": "latency"}}, "data": {"seq": "0"}})
        with OperatorProcess([workdir / "operator.py"], kubeconfig=plane.kubeconfig, args=["-n", "default"],
                             env={"JOURNAL": str(journal)}) as operator:
            operator.wait_started()
            time.sleep(2)  # let the create causes of the 50 objects settle

            # -- latency at a steady rate -------------------------------------------------
            sent: dict[tuple[str, str], float] = {}
            total = int(options.rate * options.seconds)
            interval = 1.0 / options.rate
            start = time.monotonic()
            for n in range(total):
                target = start + n * interval
                delay = target - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                name, seq = f"lat-{n % 50:02d}", str(n + 1)
                client.patch(configmaps, name, {"data": {"seq": seq}}, namespace="default")
                sent[(name, seq)] = time.time()
            achieved = total / (time.monotonic() - start)
            last = (f"lat-{(total - 1) % 50:02d}", str(total))
            try:
                wait_for(lambda: last in {(e["name"], e["seq"]) for e in journal_entries(journal, "latency")},
                         60, "the last change's handler")
            except TimeoutError:
                print(operator.output()[-3000:], file=sys.stderr)
                raise
            handled = {(e["name"], e["seq"]): e["at"] for e in journal_entries(journal, "latency")}
            latencies = [handled[k] - t for k, t in sent.items() if k in handled]
            results["latency"] = {
                "changes": total, "achieved_rate": achieved, "handled": len(latencies),
                "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * percentile(latencies, 0.99),
                "max_ms": 1000 * max(latencies)}

            # -- burst of 50 updates during a slow handler --------------------------------------
            client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "burst", "namespace": "default",
                                                    "labels": {"bench": "burst"}}, "data": {"seq": "0"}})
            time.sleep(1.0)
            client.patch(configmaps, "burst", {"data": {"seq": "1"}}, namespace="default")
            wait_for(lambda: journal_entries(journal, "burst"), 30, "first burst call")
            for n in range(2, 52):
                client.patch(configmaps, "burst", {"data": {"seq": str(n)}}, namespace="default")
            wait_for(lambda: any(e["seq"] == "51" for e in journal_entries(journal, "burst")), 60, "burst end")
            time.sleep(2.5)
            calls = journal_entries(journal, "burst")
            results["burst"] = {"updates_during_handler": 50, "further_invocations": len(calls) - 1,
                                "last_saw_final": calls[-1]["seq"] == "51", "seen": [c["seq"] for c in calls]}

            # -- 200 async handlers that each await 1 s ---------------------------------------------
            began = time.time()
            for i in range(options.async_objects):
                client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": f"async-{i:03d}", "namespace": "default",
                                                        "labels": {"bench": "async"}}})
            created = time.time() - began
            wait_for(lambda: len(journal_entries(journal, "async")) >= options.async_objects, 120,
                     "every async handler")
            ends = [e["at"] for e in journal_entries(journal, "async")]
            results["async"] = {"objects": options.async_objects, "handler_awaits_s": 1.0,
                                "seconds_to_create": created, "seconds_until_all_handled": max(ends) - began}

            # -- API writes per reconcile with 3 handlers ------------------------------------------
            for label in ("writes", "results"):
                name = f"w-{label}"
                client.create(scenario.WEBSITES, {"apiVersion": "example.com/v1", "kind": "Website",
                                                  "metadata": {"name": name, "namespace": "default",
                                                               "labels": {"bench": label}},
                                                  "spec": {"domain": "a.example.com"}})
                time.sleep(1.5)  # the create cause: no create handler, only the diff-base write
                before = client.get(scenario.WEBSITES, name, namespace="default")["metadata"]["resourceVersion"]
                events: list[str] = []
                stream = client.watch(scenario.WEBSITES, namespace="default", resource_version=before,
                                      timeout_seconds=10, inactivity_timeout=30,
                                      field_selector=f"metadata.name={name}")
                reader = threading.Thread(target=lambda s=stream, seen=events: seen.extend(e.type for e in s),
                                          daemon=True)
                reader.start()
                client.patch(scenario.WEBSITES, name, {"spec": {"domain": "b.example.com"}}, namespace="default")
                time.sleep(3.0)
                stream.close()
                reader.join(5)
                modified = events.count("MODIFIED")
                results[f"writes_{label}"] = {"handlers": 3, "operator_writes": modified - 1}
            assert operator.stop() == 0

    out = HERE / "results" / f"{results['date']}-operator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    lat = results["latency"]
    print(f"latency at {lat['achieved_rate']:.1f} changes/s over {lat['changes']} changes "
          f"({lat['handled']} handled): p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
          f"max {lat['max_ms']:.1f} ms")
    burst = results["burst"]
    print(f"burst of 50 updates during a 1 s handler: {burst['further_invocations']} further invocations, "
          f"last saw the final state: {burst['last_saw_final']} (values seen: {burst['seen']})")
    slow = results["async"]
    print(f"{slow['objects']} async handlers awaiting 1 s each: all handled {slow['seconds_until_all_handled']:.2f} s "
          f"after the first create (creating them took {slow['seconds_to_create']:.2f} s)")
    for label in ("writes", "results"):
        print(f"API writes by the operator for one update with 3 handlers ({label}): "
              f"{results[f'writes_{label}']['operator_writes']}")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

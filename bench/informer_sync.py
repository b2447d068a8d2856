"""Benchmark: opframe's informer against the `kubernetes` client's own list + watch, same run.

Starts a fresh local control plane, creates N ConfigMaps, then runs each measurement
in a fresh Python process (so RSS figures do not leak between them):

* sync: time from start to a complete local cache of all N objects; peak RSS; bytes
  per cached object (RSS growth / N, from after a first request of one object, so that the
  connection is not counted as the objects').
  - opframe: SharedIndexInformer (paged LIST, raw JSON, DeltaFIFO, Indexer).
  - baseline: CoreV1Api.list_namespaced_config_map in pages of 500, models kept in a dict.
* watch: events per second from the API server into the cache, replaying the N ADDED
  events from the watch cache (a watch from the resourceVersion before they were made).
  - opframe: Reflector -> DeltaFIFO -> Indexer (the informer's full path).
  - baseline: kubernetes.watch.Watch().stream with model deserialisation into a dict.

* representations: what each way of keeping the N objects costs, on the objects as
  listed (managedFields dropped), each in a fresh process: RSS growth per object against
  the object's JSON size, and the time to make one and decode it back. The dicts as
  parsed (the cache before issue 20), the dicts with every string interned, the JSON
  bytes (the cache now), and the JSON compressed with zlib.

Usage: python bench/informer_sync.py [--objects 10000] [--repeat 3]
Writes bench/results/<date>-informer.json and prints a table with ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """This process's RSS high-water mark (VmHWM). Not getrusage's ru_maxrss: Linux keeps that across
    exec, so a worker would report its parent's peak if that was higher."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# -- the measured workers (run in child processes) ------------------------------------------

def worker_opframe_sync(kubeconfig: str, namespace: str, objects: int) -> dict[str, Any]:
    from opframe.cache.informer import SharedIndexInformer
    from opframe.cache.listwatch import ResourceListerWatcher
    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration

    client = KubeClient(load_configuration(kubeconfig), ClientSettings(qps=1000, burst=2000))
    configmaps = Resource("", "v1", "configmaps", "ConfigMap")
    client.list(configmaps, namespace=namespace, limit=1)  # the connection is not the objects' cost
    before = rss_bytes()
    started = time.perf_counter()
    # As the operator runs it: a streaming watch-list unless OPFRAME_WATCH_LIST says otherwise.
    watch_list = os.environ.get("OPFRAME_WATCH_LIST", "true").lower() in ("1", "true", "yes")
    informer = SharedIndexInformer(ResourceListerWatcher(client, configmaps, namespace=namespace),
                                   use_watch_list=watch_list)
    informer.start()
    assert informer.wait_for_sync(timeout=600)
    elapsed = time.perf_counter() - started
    assert len(informer.indexer) == objects, len(informer.indexer)
    after = rss_bytes()
    informer.stop()
    get_raw = getattr(informer.indexer, "get_raw", None)  # None: an earlier tree's cache (dicts)
    raws = [raw for key in informer.indexer.list_keys() if (raw := get_raw(key)) is not None] if get_raw else []
    received = sum(map(len, raws)) / objects if raws else None
    return {"seconds": elapsed, "rss_growth": after - before, "peak_rss": peak_rss_bytes(),
            "bytes_per_object": (after - before) / objects, "watch_list": watch_list,
            "json_bytes_received": received}


def worker_baseline_sync(kubeconfig: str, namespace: str, objects: int) -> dict[str, Any]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    api.list_namespaced_config_map(namespace, limit=1)  # the connection is not the objects' cost
    before = rss_bytes()
    started = time.perf_counter()
    cache: dict[str, Any] = {}
    token = None
    while True:
        page = api.list_namespaced_config_map(namespace, limit=500, _continue=token)
        for item in page.items:
            cache[f"{item.metadata.namespace}/{item.metadata.name}"] = item
        token = page.metadata._continue
        if not token:
            break
    elapsed = time.perf_counter() - started
    assert len(cache) == objects, len(cache)
    after = rss_bytes()
    return {"seconds": elapsed, "rss_growth": after - before, "peak_rss": peak_rss_bytes(),
            "bytes_per_object": (after - before) / objects}


def worker_opframe_watch(kubeconfig: str, namespace: str, objects: int, from_rv: str) -> dict[str, Any]:
    import threading

    from opframe.cache.fifo import DeltaFIFO
    from opframe.cache.informer import SharedIndexInformer, drop_managed_fields
    from opframe.cache.listwatch import ResourceListerWatcher
    from opframe.cache.reflector import Reflector, State
    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration

    client = KubeClient(load_configuration(kubeconfig), ClientSettings(qps=1000, burst=2000))
    configmaps = Resource("", "v1", "configmaps", "ConfigMap")
    lister_watcher = ResourceListerWatcher(client, configmaps, namespace=namespace)
    informer = SharedIndexInformer(lister_watcher)  # its Indexer and processing, fed by our reflector
    fifo: DeltaFIFO = informer.fifo
    reflector = Reflector(lister_watcher, fifo)
    reflector.last_sync_resource_version = from_rv
    reflector.state = State.WATCH
    assert drop_managed_fields is not None
    done = threading.Event()

    def drain() -> None:
        while len(informer.indexer) < objects:
            fifo.pop(informer._handle_deltas, timeout=1.0)
        done.set()

    consumer = threading.Thread(target=drain, daemon=True)
    started = time.perf_counter()
    consumer.start()
    runner = threading.Thread(target=reflector.run, daemon=True)
    runner.start()
    assert done.wait(600), len(informer.indexer)
    elapsed = time.perf_counter() - started
    reflector.stop()
    return {"seconds": elapsed, "events_per_second": objects / elapsed, "relists": reflector.stats.lists}


def worker_baseline_watch(kubeconfig: str, namespace: str, objects: int, from_rv: str) -> dict[str, Any]:
    from kubernetes import client, config, watch

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    cache: dict[str, Any] = {}
    started = time.perf_counter()
    stream = watch.Watch()
    for event in stream.stream(api.list_namespaced_config_map, namespace, resource_version=from_rv,
                               timeout_seconds=600):
        item = event["object"]
        cache[f"{item.metadata.namespace}/{item.metadata.name}"] = item
        if len(cache) >= objects:
            stream.stop()
            break
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "events_per_second": objects / elapsed}


def _interned(value: Any) -> Any:
    import sys as _sys

    if isinstance(value, dict):
        return {_sys.intern(k): _interned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interned(v) for v in value]
    return _sys.intern(value) if isinstance(value, str) else value


#: The ways of keeping the objects measured by worker_representation: (keep one, decode one back).
REPRESENTATIONS = ("dicts as parsed", "dicts, strings interned", "JSON bytes", "JSON bytes, zlib level 1")


def worker_representation(items_file: str, name: str, objects: int) -> dict[str, Any]:
    """In a fresh process: the RSS growth per object of keeping the listed objects one way, and the time
    to make one and to decode one back. The objects are read first as one JSON line each (kept alive
    throughout, so only the representation's own memory is counted)."""
    import zlib

    import orjson

    from opframe.cache.store import encode

    raws = Path(items_file).read_bytes().splitlines()
    assert len(raws) == objects, len(raws)
    keep, decode = {
        "dicts as parsed": (orjson.loads, None),
        "dicts, strings interned": (lambda raw: _interned(orjson.loads(raw)), None),
        "JSON bytes": (lambda raw: encode(orjson.loads(raw)), orjson.loads),
        "JSON bytes, zlib level 1": (lambda raw: zlib.compress(orjson.dumps(orjson.loads(raw)), 1),
                                     lambda kept: orjson.loads(zlib.decompress(kept))),
    }[name]
    before = rss_bytes()
    started = time.perf_counter()
    kept = {i: keep(raw) for i, raw in enumerate(raws)}
    keep_us = (time.perf_counter() - started) / objects * 1e6
    growth = (rss_bytes() - before) / objects
    decode_us = 0.0
    if decode is not None:
        started = time.perf_counter()
        for value in kept.values():
            decode(value)
        decode_us = (time.perf_counter() - started) / objects * 1e6
    json_bytes = sum(map(len, raws)) / objects
    return {"rss_bytes_per_object": growth, "of_json": growth / json_bytes, "parse_and_keep_us": keep_us,
            "decode_us": decode_us}


WORKERS = {
    "opframe-sync": worker_opframe_sync, "baseline-sync": worker_baseline_sync,
    "opframe-watch": worker_opframe_watch, "baseline-watch": worker_baseline_watch,
    "representation": worker_representation,
}


# -- the driver ------------------------------------------------------------------------------

def run_worker(name: str, *args: str, tree: Path | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh process; ``tree``: import opframe from that checkout instead."""
    # The earlier tree as it ran: its operator's default was a LIST (watch_list false until issue 20).
    env = {**os.environ, "PYTHONPATH": str(tree), "OPFRAME_WATCH_LIST": "false"} if tree is not None else None
    output = subprocess.run([sys.executable, __file__, "--worker", name, *args], check=True,
                            capture_output=True, text=True, timeout=1200, env=env)
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def configmap(namespace: str, index: int) -> dict[str, Any]:
    # A realistic small ConfigMap: a few labels and ~1 KB of data.
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"bench-{index:06d}", "namespace": namespace,
                         "labels": {"app": "bench", "shard": str(index % 16)}},
            "data": {f"key-{k}": f"value-{index}-{k}-" + "x" * 90 for k in range(10)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of an earlier commit: its informer's sync is measured too, same run")
    parser.add_argument("--worker")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    if options.worker:
        function = WORKERS[options.worker]
        args = options.args
        result = function(args[0], args[1], int(args[2]), *args[3:])  # type: ignore[operator]
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(HERE.parent))
    import orjson

    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
    from opframe.testing import ControlPlane

    results: dict[str, Any] = {"objects": options.objects, "repeat": options.repeat,
                               "date": datetime.date.today().isoformat(), "runs": {}}
    with ControlPlane() as plane:
        kubeconfig = str(plane.kubeconfig)
        client = KubeClient(load_configuration(kubeconfig), ClientSettings(qps=5000, burst=5000))
        configmaps = Resource("", "v1", "configmaps", "ConfigMap")
        namespaces = Resource("", "v1", "namespaces", namespaced=False)
        client.create(namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        from_rv = client.list(configmaps, namespace="bench").resource_version
        print(f"creating {options.objects} ConfigMaps ...", file=sys.stderr)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: client.create(configmaps, configmap("bench", i)), range(options.objects)))
        print(f"  created in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        # The objects as the cache gets them: as listed, managedFields dropped (the default transform).
        listed = client.list_all(configmaps, namespace="bench").items
        for item in listed:
            item.get("metadata", {}).pop("managedFields", None)
        items_file = Path(kubeconfig).with_name("bench-items.jsonl")
        items_file.write_bytes(b"\n".join(orjson.dumps(item) for item in listed))
        json_bytes = sum(len(orjson.dumps(item)) for item in listed) / len(listed)
        results["json_bytes_per_object"] = json_bytes
        results["representations"] = {
            name: run_worker("representation", str(items_file), name, str(len(listed))) for name in REPRESENTATIONS}
        for round_ in range(options.repeat):
            for name in ("opframe-watch", "baseline-watch", "opframe-sync", "baseline-sync"):
                extra = [from_rv] if name.endswith("watch") else []
                try:
                    result = run_worker(name, kubeconfig, "bench", str(options.objects), *extra)
                except subprocess.CalledProcessError as exc:
                    if not name.endswith("watch"):
                        raise
                    # The replay needs the API server's watch cache to reach back to before the creates;
                    # at 100,000 objects created slowly it may not (410): recorded, left out of the table.
                    results.setdefault("failed", []).append({"run": name, "round": round_ + 1,
                                                             "stderr": exc.stderr[-500:]})
                    print(f"  round {round_ + 1} {name}: failed: {exc.stderr[-300:]}", file=sys.stderr)
                    continue
                results["runs"].setdefault(name, []).append(result)
                print(f"  round {round_ + 1} {name}: {result}", file=sys.stderr)
            if options.before is not None:
                result = run_worker("opframe-sync", kubeconfig, "bench", str(options.objects), tree=options.before)
                results["runs"].setdefault("before-sync", []).append(result)
                print(f"  round {round_ + 1} before-sync ({options.before}): {result}", file=sys.stderr)

    def median(name: str, field: str) -> float:
        return statistics.median(r[field] for r in results["runs"][name])

    # The objects as the informer receives them (a watch event's object carries apiVersion and kind,
    # a LIST's items do not), managedFields dropped: what the cache keeps.
    received = median("opframe-sync", "json_bytes_received")
    results["json_bytes_received_per_object"] = received
    rows = [
        ("initial sync time (s)", median("opframe-sync", "seconds"), median("baseline-sync", "seconds")),
        ("peak RSS during sync (MiB)", median("opframe-sync", "peak_rss") / 2**20,
         median("baseline-sync", "peak_rss") / 2**20),
        ("bytes per cached object", median("opframe-sync", "bytes_per_object"),
         median("baseline-sync", "bytes_per_object")),
        ("bytes per cached object / JSON size", median("opframe-sync", "bytes_per_object") / received,
         median("baseline-sync", "bytes_per_object") / received),
    ]
    if results["runs"].get("opframe-watch") and results["runs"].get("baseline-watch"):
        rows.append(("watch events/s into the cache", median("opframe-watch", "events_per_second"),
                     median("baseline-watch", "events_per_second")))
    results["summary"] = {label: {"opframe": o, "baseline": b, "ratio": o / b} for label, o, b in rows}
    print(f"\n{options.objects} ConfigMaps, median of {options.repeat} runs "
          "(baseline: the kubernetes client's models)")
    print(f"{'figure':34} {'opframe':>12} {'baseline':>12} {'opframe/baseline':>17}")
    for label, ours, theirs in rows:
        print(f"{label:34} {ours:12.2f} {theirs:12.2f} {ours / theirs:17.2f}")
    if options.before is not None:
        results["before"] = {"tree": str(options.before), **{
            label: {"before": median("before-sync", field), "now": median("opframe-sync", field),
                    "ratio": median("opframe-sync", field) / median("before-sync", field)}
            for label, field in (("initial sync time (s)", "seconds"), ("peak RSS during sync", "peak_rss"),
                                 ("bytes per cached object", "bytes_per_object"))}}
        print(f"\nagainst {options.before} (same run, median of {options.repeat}):")
        for label, figure in results["before"].items():
            if isinstance(figure, dict):
                print(f"{label:34} before {figure['before']:12.2f} now {figure['now']:12.2f} "
                      f"now/before {figure['ratio']:.2f}")
    print(f"\nJSON size per object, managedFields dropped: {received:.0f} bytes as the informer receives it "
          f"(the ratios' unit), {json_bytes:.0f} bytes as a LIST's item (no apiVersion and kind)")
    print(f"{'representation':28} {'RSS B/object':>13} {'x JSON':>7} {'parse+keep us':>14} {'decode us':>10}")
    for name, figure in results["representations"].items():
        print(f"{name:28} {figure['rss_bytes_per_object']:13.0f} {figure['of_json']:7.2f} "
              f"{figure['parse_and_keep_us']:14.1f} {figure['decode_us']:10.1f}")
    out = HERE / "results" / f"{results['date']}-informer-{options.objects}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the per-call cost of typed kwargs (a handler taking ``spec: Model, status: Model``) against
kopf's dict kwargs (``spec, status``), on the same object, same run, in-process (no cluster: this is
only the price of building the models and diffing the typed status after the call).

Each variant: the runtime's own call path (runtime/execution/calls.call) with the kwargs the runtime
builds (object_kwargs of a fresh Body, a Patch), the handler reading two spec fields and writing two
status fields. Rounds alternate between the variants; per-call medians over the rounds.

Usage: python bench/typed_kwargs.py [--calls 20000] [--rounds 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from opframe import on
from opframe.handlers.registry import Registry
from opframe.objects.bodies import Body
from opframe.objects.patches import Patch
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.kwargs import object_kwargs

HERE = Path(__file__).resolve().parent
#: A Website-sized object: about 1 KB of JSON, as the example operator's.
OBJECT = {"apiVersion": "typed.opframe.dev/v1", "kind": "Website",
          "metadata": {"name": "shop", "namespace": "default", "uid": "0" * 36, "resourceVersion": "123",
                       "labels": {f"label-{i}": f"value-{i}" for i in range(8)}},
          "spec": {"domain": "shop.example", "replicas": 3, "minReplicas": 1,
                   "backends": [{"host": f"backend-{i}.svc", "port": 8080} for i in range(5)]},
          "status": {"url": "https://shop.example/", "servers": 3}}


class Backend(BaseModel):
    host: str
    port: int = 80


class WebsiteSpec(BaseModel):
    domain: str
    replicas: int = Field(1, ge=1, le=10)
    minReplicas: int = 1  # noqa: N815 (the API's name)
    backends: list[Backend] = []


class WebsiteStatus(BaseModel):
    url: str | None = None
    servers: int = 0


def typed(spec: WebsiteSpec, status: WebsiteStatus, **_: Any) -> None:
    status.url = f"https://{spec.domain}/"
    status.servers = spec.replicas + 1


def untyped(spec: Any, patch: Any, **_: Any) -> None:
    patch.status["url"] = f"https://{spec['domain']}/"
    patch.status["servers"] = spec["replicas"] + 1


def per_call(fn: Any, calls: int) -> float:
    registry = Registry()
    on.update("websites.typed.opframe.dev", registry=registry)(fn)
    (handler,) = registry.handlers()
    started = time.perf_counter()
    for _ in range(calls):
        patch = Patch()
        call(handler, {**object_kwargs(Body(json.loads(json.dumps(OBJECT)))), "patch": patch}, None)
        assert patch["status"]["servers"] == 4
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"{datetime.date.today()}-typed-kwargs.json")
    options = parser.parse_args()
    per_call(typed, 500), per_call(untyped, 500)  # warm-up: caches of signatures and type hints
    runs: dict[str, list[float]] = {"dict": [], "typed": []}
    for _ in range(options.rounds):
        runs["dict"].append(per_call(untyped, options.calls))
        runs["typed"].append(per_call(typed, options.calls))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "python": platform.python_version(), "calls_per_round": options.calls, "rounds": options.rounds,
              "per_call_us": {name: [round(v * 1e6, 2) for v in values] for name, values in runs.items()},
              "median_us": {name: round(v * 1e6, 2) for name, v in medians.items()},
              "typed_extra_us": round((medians["typed"] - medians["dict"]) * 1e6, 2),
              "ratio": round(medians["typed"] / medians["dict"], 2)}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"dict kwargs : {result['median_us']['dict']:8.2f} us per call (median of {options.rounds} rounds)")
    print(f"typed kwargs: {result['median_us']['typed']:8.2f} us per call; +{result['typed_extra_us']} us, "
          f"x{result['ratio']}")
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()

"""The runtime: what happens to a watched object after the queue, grouped by stage.

::

    cache/ (Reflector -> DeltaFIFO -> Informer -> Indexer)      queue/ (RateLimitingQueue)
          | notifications: record + enqueue the key                   |
          v                                                           v
    reconcile/   Controller (one per kind): a worker takes a key, reads the LATEST object
                 notices -> indexes -> on.event -> filters (execution/filtering)
                 -> planner.plan() (pure) -> handlers (execution/invoker, parents)
                 -> planner.conclude() (pure) -> Timers, DaemonKeeper -> ObjectWriter (PATCH)
    execution/   calling user code: kwargs (kopf's), calls (sync on the worker, async on the
                 LoopPool), sub-handlers, filter callbacks, stop flags
    telemetry/   what users see of it: Reporter (journal, log lines, Events), metrics, logs
    operator/    the process around it all: prepare/start-up checks, informers and controllers
                 wired per kind, Lease election, health server, startup/cleanup/probe activities

Layers import downward only: operator -> reconcile -> execution -> telemetry (pyproject.toml's
import-linter contracts). kopf's façade (opframe/kopf/) sits above the runtime and reaches it
through ``Operator``'s ``settings_view``, ``lifecycle`` and ``foreign`` bookkeeping only.
"""

"""One watched kind's reconcile loop: from a key taken off the queue to the object's PATCH.

* ``controller``: ``Controller`` — notifications -> notices + queue; workers and finishers run
  one reconcile (notices, indexes, on.event, filters, plan, handlers, conclude, timers,
  daemons, write); ``_forget()`` per key.
* ``planner``: pure ``plan()``/``narrow()``/``conclude()``/``release()`` and the daemons'
  start/stop decision; no threads, loops, sockets or user code (an import-linter contract).
* ``writer``: ``ObjectWriter`` — /status, merge PATCH, JSON patch for ``patch.fns``; conflicts
  re-based; expectations of its own writes.
* ``notices``: per-key events (for on.event) and deleted bodies, taken by the worker.
* ``timers``: ``TimerSchedule`` (due times per key) and ``Timers`` (runs the due ones).
* ``daemons``: ``DaemonKeeper`` — per-key daemons, their stops and the finalizer they hold.
* ``indexes``: operator indexes (rebuilt on takeover, refreshed per key).
"""

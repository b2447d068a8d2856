"""Calling user code: handlers, sub-handlers, filter callbacks, on.event handlers.

* ``invoker``: ``Invoker`` — calls one kind's handlers on the calling thread, with metrics;
  on.event handlers.
* ``parents``: a parent change handler's call, then its due sub-handlers; kopf's ``execute()``.
* ``filtering``: ``FilterEvaluator`` — the one evaluator of kopf's filters (callbacks as
  ``fn(value, **kwargs)``).
* ``kwargs``: kopf's keyword arguments (``KwargsBuilder``, ``attempt_kwargs``), the ``Api``
  facade, per-call object copies (``fresh_body``).
* ``calls``: ``call()``/``coroutine_of()`` — the kwargs a function accepts, sync and async,
  with its object as the current owner.
* ``loops``: ``LoopPool`` — event loops for async handlers, with a blocking watchdog.
* ``stopping``: stop flags (``DaemonStopped``, ``TimerStopped``, their async forms) and
  ``DaemonStoppingReason``.
"""

"""What operators and users see of the runtime.

* ``reporter``: ``Reporter`` — handler outcomes to the journal, log lines (kopf's wording) and Events.
* ``events``: ``EventRecorder`` — Kubernetes Events posted by a background thread, spam-filtered.
* ``metrics``: ``OperatorMetrics`` — Prometheus metrics of handlers, queues, reflectors, requests.
* ``journal``: handler outcomes per object, for KopfRunner's tests.
* ``logs``: logging set-up (text, JSON, kopf's formats) and per-object loggers.
"""

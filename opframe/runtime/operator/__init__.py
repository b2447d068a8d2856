"""The operator process: everything that exists once per operator, not once per kind.

* ``operator``: ``Operator`` — wiring: informers per kind (and namespace), controllers, leader
  election (standbys idle), health checks, Events, stop; ``running()`` for kopf's posting helpers.
* ``startup``: ``prepare()`` — configuration, reachability, discovery, RBAC per namespace mode;
  ``StartupError``.
* ``activities``: startup, cleanup, login and probe handlers, retried as kopf retries them.
* ``leader``: ``LeaderElector`` over a coordination.k8s.io Lease.
* ``health``: ``HealthServer`` — /healthz, /readyz, /metrics and kopf's liveness endpoint.
"""

"""kopf's webhook servers and tunnels, by name only: opframe does not serve admission yet.

They can be constructed (a kopf operator assigns one to ``settings.admission.server`` in a
startup handler), keep their options, and serve nothing: an operator with
``on.validate``/``on.mutate`` handlers or an admission server set stops at start-up with
one message naming the handlers and what to use instead (runtime/operator/startup.py).
"""

from __future__ import annotations

from typing import Any


class WebhookServer:
    """kopf's local HTTPS webhook server (options kept, nothing served)."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"


class WebhookK3dServer(WebhookServer):
    pass


class WebhookMinikubeServer(WebhookServer):
    pass


class WebhookDockerDesktopServer(WebhookServer):
    pass


class WebhookAutoServer(WebhookServer):
    pass


class WebhookNgrokTunnel(WebhookServer):
    pass


class WebhookAutoTunnel(WebhookServer):
    pass

"""The one door to the API server.

``connect()`` finds the cluster (kubeconfig or in-cluster); ``KubeClient`` lists,
watches, gets, creates, patches and deletes any resource as raw JSON, with
client-side QPS limiting and retries; ``Discovery`` resolves the names people write
into ``Resource`` values; ``errors`` holds the typed API errors.
"""

from opframe.kube.client import ClientSettings, KubeClient, ListPage, WatchEvent, WatchStream
from opframe.kube.config import ConfigurationError, connect, load_configuration
from opframe.kube.discovery import AmbiguousResourceError, Discovery, ResourceNotFoundError
from opframe.kube.resources import Resource

__all__ = [
    "AmbiguousResourceError",
    "ClientSettings",
    "ConfigurationError",
    "Discovery",
    "KubeClient",
    "ListPage",
    "Resource",
    "ResourceNotFoundError",
    "WatchEvent",
    "WatchStream",
    "connect",
    "load_configuration",
]

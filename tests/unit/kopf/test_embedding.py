"""Embedding (opframe.kopf.embedding): kopf.run()'s namespaces and peering options as Settings."""

from __future__ import annotations

import warnings

from opframe.kopf.embedding import settings_for


def test_embedding_serves_kopfs_namespaces() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        everything = settings_for(clusterwide=False, namespaces=(), namespace=None, standalone=None,
                                  peering_name=None, priority=None, liveness_endpoint=None)
    assert everything.all_namespaces and any(issubclass(w.category, FutureWarning) for w in caught)
    named = settings_for(clusterwide=False, namespaces=["a", "b-*"], namespace=None, standalone=None,
                         peering_name="mine", priority=None, liveness_endpoint="http://0.0.0.0:8080/healthz")
    assert (named.namespaces, named.all_namespaces, named.leader_election, named.lease_name,
            named.liveness_endpoint) == (["a", "b-*"], False, True, "mine", "http://0.0.0.0:8080/healthz")

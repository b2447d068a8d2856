"""ObjectWriter: writes a reconcile's outcome to one kind's objects, and remembers its own writes.

The status subresource's PATCH first (when handlers returned results and the kind has
one), then one merged PATCH of the object, then (when handlers set ``patch.fns``) a JSON patch of
what those functions change. The order is the reader's: the object's
PATCH carries the bookkeeping that says a cause is handled (the diff-base, the progress
record removed, the finalizer released), so whoever sees it also sees the results, and
a released finalizer never leaves a result unwritten on a deleted object. When the
object's PATCH changes the finalizer list it carries a resourceVersion precondition; the
status write's answer is the fresh object it is re-based on. If someone else wrote in
between (409), the finalizer change is re-applied to the fresh list and the same outcome
is sent again: handlers that succeeded are not run again, and the diff-base stays the
state they handled, so the other writer's change is seen as the next update.

Expectations (client-go's ControllerExpectations, reduced to what is needed): after a
write, the object's newer state is on its way through the watch; until the cache holds
the written resourceVersion or newer, a reconcile of that key would read a stale
object and run handlers again, so it is skipped (the watch event enqueues the key
again). Invariant: an expectation exists only for a key this writer wrote and that has
not been forgotten; it expires after ``EXPECTATION_TIMEOUT``.

Held diff-bases: a reconcile whose whole write would be the new diff-base, of an object that
has already changed again (the cache holds a newer essence, so another reconcile of it is
coming), holds that diff-base here instead of writing it; the next reconcile reads the object
as if it had been written (``held_diff_base``) and writes it with its own outcome, or holds it
again. In an update storm this halves the operator's writes (one per burst, not two), and
handlers see the same ``old`` as if every diff-base had been written (kopf's chain: each
call's ``old`` is the essence the previous call handled). Invariant: a held diff-base belongs
to a key whose object carried, when it was held, the diff-base annotation ``on_object``; it is
used only while the object still carries that one (someone else's write of it wins), and is
dropped with the key. If the operator stops first, the object keeps the previous diff-base and
the next handling's ``old`` reaches back to it (handlers run at least once per change, never
less).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from opframe.cache.store import split_key
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.objects.patches import Patch

logger = logging.getLogger("opframe.writer")

#: An expectation not met within this long is dropped: the watch may have skipped our
#: own write (a relist), and a reconcile on a newer state is then harmless.
EXPECTATION_TIMEOUT = 30.0
#: How often a finalizer PATCH is re-based on a fresh object before giving up to a requeue.
CONFLICT_ATTEMPTS = 3


class ObjectWriter:
    def __init__(self, client: KubeClient, resource: Resource, bookkeeping: Bookkeeping) -> None:
        self.client = client
        self.resource = resource
        self.bookkeeping = bookkeeping
        self.patches = 0
        self._lock = threading.Lock()
        self._expected: dict[str, tuple[str, float]] = {}
        #: key -> (the diff-base held back, the diff-base annotation the object carried then)
        self._held: dict[str, tuple[str, str | None]] = {}
        #: The kind's schema dropped status fields we wrote: said once (kopf warns on each patch).
        self._pruning_said = False
        #: Writing status was refused (RBAC, the schema): said once at error, then at debug.
        self._status_refusal_said = False

    def apply(self, key: str, patch: Mapping[str, Any], *, expect: bool = True) -> str | None:
        """Write ``patch`` (a merge patch; ``status`` goes to the subresource if the kind has one);
        the resourceVersion written (None if nothing was). With ``expect`` (a reconcile's own
        write), the key's expectation becomes that version; a writer that runs beside the
        reconciles (a daemon) passes False and calls ``expect()`` while its key is still known.

        Raises Conflict when the finalizer change could not be re-based, NotFound when
        the object is gone.
        """
        rest = pruned(dict(patch))
        fns = list(getattr(patch, "fns", None) or ())
        if not rest and not fns:
            return None
        namespace, name = split_key(key)
        sent_status = rest.get("status")
        status = rest.pop("status", None) if "status" in self.resource.subresources else None
        written: dict[str, Any] | None = None
        if status:
            try:
                written = self.client.patch(self.resource, name, {"status": status}, namespace=namespace,
                                            subresource="status")
                self.patches += 1
            except (errors.Forbidden, errors.Invalid) as exc:
                # A refusal that a retry cannot cure (RBAC without <plural>/status, a schema that
                # rejects the results) costs the results only, never the bookkeeping (as in kopf).
                self._say_status_refused(key, exc)
            if written is not None and "resourceVersion" in (rest.get("metadata") or {}):
                self._rebase(rest["metadata"], written["metadata"])
        if rest:
            written = self._patch_object(name, namespace, rest)
        if fns:
            written = self._apply_fns(name, namespace, fns, written)
        if written is None:
            return None
        if sent_status and not self._pruning_said:
            self._say_pruned(key, pruned_status(sent_status, written))
        version = str(written["metadata"]["resourceVersion"])
        if expect:
            self.expect(key, version)
        return version

    def _say_status_refused(self, key: str, error: errors.ApiError) -> None:
        fix = (f"grant patch on {self.resource.plural}/status (the rule {{apiGroups: [\"{self.resource.group}\"], "
               f"resources: [{self.resource.plural}/status], verbs: [patch]}})" if isinstance(error, errors.Forbidden)
               else "return results the schema of the status accepts")
        if self._status_refusal_said:
            logger.debug("%s: the handlers' results were not written to status (%s)", key, error.message)
            return
        self._status_refusal_said = True
        logger.error("%s: the handlers' results could not be written to status (%s); they are dropped, here and "
                     "for every object of %s until this is fixed (said once): %s", key, error.message,
                     self.resource.qualified_name, fix)

    def _say_pruned(self, key: str, fields: list[str]) -> None:
        if not fields:
            return
        self._pruning_said = True
        logger.warning(
            "%s: the API server dropped %s from what opframe wrote (handlers' results or progress): the schema "
            "of %s prunes fields it does not declare; declare them under status, or add "
            "x-kubernetes-preserve-unknown-fields: true to status in the CRD's openAPIV3Schema (said once)",
            key, ", ".join(f"status.{field}" for field in fields), self.resource.qualified_name)

    def expect(self, key: str, version: str) -> None:
        """The cache must reach ``version`` before ``key`` is reconciled again. Two writes that end
        in either order leave the newer version expected (never an older one: a reconcile would then
        read a state older than our own last write and run its handlers again)."""
        with self._lock:
            current = self._expected.get(key)
            if current is None or not newer(current[0], version):
                self._expected[key] = (version, time.monotonic())

    def _apply_fns(self, name: str, namespace: str | None, fns: list[Any],
                   written: dict[str, Any] | None) -> dict[str, Any] | None:
        """kopf's ``patch.fns``: functions that change the object, sent as a JSON patch of what they
        changed, guarded by the resourceVersion they saw (a conflict is retried on a fresh object).

        With a status subresource, the operations under ``/status`` go to it (the object's own
        endpoint ignores them), after the rest, each guarded by the version the one before wrote
        (kopf's split: both are computed from one body, so they never conflict with each other).
        """
        body = written
        for attempt in range(CONFLICT_ATTEMPTS):
            if body is None:
                body = self.client.get(self.resource, name, namespace=namespace)
            operations = Patch(fns=fns).as_json_patch(body)
            if not operations:
                return written
            status_ops: list[Any] = []
            if "status" in self.resource.subresources:
                status_ops = [op for op in operations if op["path"] == "/status" or op["path"].startswith("/status/")]
                operations = [op for op in operations if op not in status_ops]
            result = body
            try:
                for ops, subresource in ((operations, None), (status_ops, "status")):
                    if not ops:
                        continue
                    guard = {"op": "test", "path": "/metadata/resourceVersion",
                             "value": result["metadata"]["resourceVersion"]}
                    result = self.client.patch(self.resource, name, [guard, *ops], namespace=namespace,
                                               patch_type="json", subresource=subresource)
                    self.patches += 1
            except (errors.Conflict, errors.Invalid):
                if attempt + 1 == CONFLICT_ATTEMPTS:
                    raise
                body = None
                continue
            return result
        return written

    def _patch_object(self, name: str, namespace: str | None, patch: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                written = self.client.patch(self.resource, name, patch, namespace=namespace)
                self.patches += 1
                return written
            except errors.Conflict:
                metadata = patch.get("metadata") or {}
                if "finalizers" not in metadata or attempt + 1 == CONFLICT_ATTEMPTS:
                    raise
                self._rebase(metadata, self.client.get(self.resource, name, namespace=namespace)["metadata"])
        raise AssertionError("unreachable")  # pragma: no cover

    def _rebase(self, metadata: dict[str, Any], fresh: Mapping[str, Any]) -> None:
        """Re-apply this patch's finalizer change (ours kept or released) to the ``fresh`` metadata's
        list, guarded by its resourceVersion: other controllers' finalizers are never lost."""
        names = self.bookkeeping.finalizers
        keep = names[0] in metadata["finalizers"]
        others = [f for f in fresh.get("finalizers") or [] if f not in names]
        metadata["finalizers"] = [*others, names[0]] if keep else others
        metadata["resourceVersion"] = fresh["resourceVersion"]

    def read(self, key: str) -> dict[str, Any] | None:
        """The object as the API server has it now (None if it does not exist)."""
        namespace, name = split_key(key)
        try:
            return self.client.get(self.resource, name, namespace=namespace)
        except errors.NotFound:
            return None

    def expectation_met(self, key: str, cached: Mapping[str, Any]) -> bool:
        with self._lock:
            expected = self._expected.get(key)
            if expected is None:
                return True
            written_rv, since = expected
            cached_rv = str((cached.get("metadata") or {}).get("resourceVersion", ""))
            expired = time.monotonic() - since > EXPECTATION_TIMEOUT
            if cached_rv == written_rv or newer(cached_rv, written_rv) or expired:
                del self._expected[key]
                return True
            return False

    def hold_diff_base(self, key: str, diff_base: str, on_object: str | None) -> None:
        """Keep ``diff_base`` for ``key``'s next reconcile instead of writing it now (see the module's
        docstring); ``on_object`` is the diff-base annotation the object carries meanwhile."""
        with self._lock:
            self._held[key] = (diff_base, on_object)

    def held_diff_base(self, key: str, on_object: str | None) -> str | None:
        """The diff-base held for ``key``, taken (the caller writes or holds it again); None if none
        is held, or if the object's annotation is no longer the one it carried (someone wrote it)."""
        with self._lock:
            held = self._held.pop(key, None)
        if held is None or held[1] != on_object:
            return None
        return held[0]

    def forget(self, key: str) -> None:
        with self._lock:
            self._expected.pop(key, None)
            self._held.pop(key, None)

    def tracked(self) -> int:
        with self._lock:
            return len(self._expected) + len(self._held)


def newer(candidate: str, reference: str) -> bool:
    """Whether resourceVersion ``candidate`` is newer than ``reference``.

    resourceVersions are opaque to clients, but every kube-apiserver backed by etcd
    issues increasing integers; anything else is treated as not comparable.
    """
    try:
        return int(candidate) > int(reference)
    except ValueError:
        return False


def pruned(patch: dict[str, Any]) -> dict[str, Any]:
    """The patch without empty sections (a None value stays: it deletes a field)."""
    result: dict[str, Any] = {}
    for key, value in patch.items():
        kept = pruned(value) if isinstance(value, dict) else value
        if kept == {}:
            continue
        result[key] = kept
    return result


def pruned_status(sent: Mapping[str, Any], written: Mapping[str, Any]) -> list[str]:
    """The top-level status fields ``sent`` set (not removed: a None removes) that the object as
    written lacks: what the kind's structural schema pruned. Pure."""
    held = written.get("status")
    held = held if isinstance(held, Mapping) else {}
    return sorted(field for field, value in sent.items() if value is not None and field not in held)

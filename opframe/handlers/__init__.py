"""What a handler is and what it decides: pure data and decisions, no threads of the runtime.

The object itself (``Body``, ``Patch``, ``Diff``) is one floor down, in ``opframe.objects``.

* ``handler``: ``Handler`` and ``Kind`` (kopf's handler fields), stable handler ids.
* ``registry``: ``Registry`` — the handlers the decorators declared; ``make()`` checks them.
* ``filters``: labels/annotations/field filters, ``PRESENT``/``ABSENT``, label selectors, combinators.
* ``causes``: ``detect()`` — why handlers run for the latest state (``Reason``, ``Cause``).
* ``bookkeeping``: ``Bookkeeping`` — the annotation keys and finalizer on objects;
  ``ForeignBookkeeping``, the seam to another operator's (kopf's).
* ``progress``: ``Progress`` and ``HandlerRecord`` — per-handler state persisted on the object.
* ``outcomes``: what a handler's call produced (``Succeeded``, ``Raised``, ``WithChildren``).
* ``retries``: ``TemporaryError``, ``PermanentError``, ``RetryPolicy`` and the one ``decide()``.
* ``subhandlers``: declaring sub-handlers inside a parent (``subhandler``, ``register``).
* ``memos``: ``Memo``.
* ``owners``: ``current_owner``, the object whose handler runs in this context.
"""

"""kopf's façade: what kopf 1.45 has and opframe's core does not say in its own words.

Everything here is re-exported by ``opframe/__init__.py`` (so ``import opframe as kopf`` works);
nothing in the core imports it (an import-linter contract). It reaches the core through
``Operator``'s arguments: ``settings_view`` (``OperatorSettings``), ``lifecycle`` (kopf's
lifecycles) and ``foreign`` (``KopfBookkeeping``, with ``adopt_kopf``), and ``running()``.

* ``settings``: ``OperatorSettings`` (kopf's groups) and its storage classes, a view of Settings.
* ``storage``: reading kopf's bookkeeping on objects (``KopfBookkeeping``); kopf's constants.
* ``hierarchies``: ``adopt()``, ``label()``, owner references, ``harmonize_naming()``.
* ``lifecycles``: kopf's lifecycles and the process default.
* ``reviews``: admission review types.
* ``embedding``: ``operator()``, ``run()``, ``spawn_tasks()``, ``run_tasks()``.
* ``posting``: ``event()``, ``info()``, ``warn()``, ``exception()``.
* ``webhooks``: kopf's webhook server and tunnel names (admission is refused at start-up).
* ``logs``: ``configure()``, ``LogFormat``, ``ObjectLogger``, ``LocalObjectLogger``.
"""

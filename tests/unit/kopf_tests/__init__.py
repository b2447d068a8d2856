"""kopf 1.45.2's tests, ported to opframe.

kopf (https://github.com/nolar/kopf) is MIT-licensed: Copyright (c) 2020-2025 Sergey
Vasilyev, Copyright (c) 2019-2020 Zalando SE. The modules here are rewritten, not copied,
from the ``tests/`` of kopf 1.45.2's sdist: they check that opframe behaves as kopf does
where opframe claims kopf's behaviour. Each module's docstring names the kopf test
module(s) it mirrors and what was left out, and why.

One file per kopf test module, at kopf's path: kopf's ``tests/diffs/test_reduction.py``
is ``kopf_tests/diffs/test_reduction.py``; kopf's ``tests/basic-structs/`` is
``basic_structs/`` (a package name has no hyphen). Ported so far:

* ``basic-structs/``: test_body, test_patch, test_patch_fields, test_patch_fns, test_patch_json
* ``causation/``: test_detection, test_kwargs
* ``diffs/``: test_calculation, test_protocols, test_reduction
* ``hierarchies/``: test_contextual_owner, test_labelling, test_name_harmonizing,
  test_namespace_adjusting, test_owner_referencing, test_type_validation (and conftest)
* ``k8s/``: test_events (its ``build_object_reference()`` cases)
* ``persistence/``: test_essences
* ``registries/``: test_decorators, test_id_detection, test_matching_for_changing,
  test_matching_for_spawning, test_matching_of_callbacks, test_requires_finalizer,
  test_subhandlers_ids
* ``test_filtering_helpers``

kopf's ``registries/test_matching_for_watching.py`` has no file of its own: its
"catch-all" cases run in test_matching_for_changing.py and its decorator cases in
test_matching_for_spawning.py, each parametrized over the kinds of handlers.

opframe's own tests of the same modules are elsewhere in tests/unit, at the path of the
opframe module (e.g. ``objects/test_diffs.py``). A check ported from kopf goes here, into
the file of the kopf module it comes from (a new file at kopf's path if there is none).
Code shared by a directory's modules is in a module named for what it holds
(``registries/declarations.py``, ``hierarchies/children.py``), fixtures in its ``conftest.py``.
"""

"""opframe's unit tests: no sockets, no cluster.

The tree mirrors the source tree: the tests of ``opframe/<path>/<module>.py`` are in
``tests/unit/<path>/test_<module>.py`` (``opframe/settings.py``: ``test_settings.py``,
``opframe/kopf/settings.py``: ``kopf/test_settings.py``, ``opframe/__init__.py``:
``test_init.py``). A test goes into the file of the module it exercises.

``kopf_tests/`` is the exception: kopf 1.45.2's own tests, ported, laid out as kopf's
test package (see its ``__init__.py``).

Every directory is a package, so modules of different directories may share a name.
Fixtures shared by a directory's tests are in its ``conftest.py``; code shared by several
directories in a module above them named for what it holds (``harness.py``: clocks that
report waiters, threads that keep results), imported relatively
(``from ..harness import JOIN_SECONDS``).
"""

"""kopf 1.45.2's tests/hierarchies/, ported (see kopf_tests/__init__.py)."""

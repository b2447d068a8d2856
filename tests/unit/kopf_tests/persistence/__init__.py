"""kopf 1.45.2's tests/persistence/, ported (see kopf_tests/__init__.py)."""

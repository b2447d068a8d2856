"""kopf 1.45.2's tests/basic-structs/, ported (see kopf_tests/__init__.py)."""

"""kopf 1.45.2's tests/k8s/, ported (see kopf_tests/__init__.py)."""

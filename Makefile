# The two commands of the README: `make test` and `make demo` do all set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo demo-node controlplane node image helm venv kopf-venv lint typecheck layers unit e2e docs clean

venv: $(STAMP)

# Re-installs when pyproject.toml changes; `pip install -e` keeps the code live.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
	  || { echo "make: opframe needs Python >= 3.11; install it or run 'make PYTHON=python3.11 ...'" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) \
	  || { echo "make: cannot create $(VENV); install Python's venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Builds kube-apiserver and etcd from the Go module proxy into the cache; a no-op when present.
controlplane:
	@./controlplane/build.sh

# Debian packages (containerd, runc, CNI plugins, ...) and kubelet, kube-controller-manager,
# kube-scheduler and kube-proxy from the Go module proxy, for a node that runs pods.
node:
	@./controlplane/node/build.sh

# The operator image from the Dockerfile (buildah + a Debian-built Python base), as an OCI archive.
image: venv
	@./tools/image/build.sh

# Builds helm from the Go module proxy (chart lint/render in the tests); a no-op when present.
helm:
	@./tools/helm/build.sh

# kopf 1.45.2 in a virtual environment of its own (never an opframe dependency): the migration
# e2e test runs a real kopf operator before opframe takes its objects over.
KOPF_VENV := $(or $(OPFRAME_CACHE_DIR),$(HOME)/.cache/opframe)/kopf-venv
# The differential corpus (tests/differential) runs real kopf operators, which import the official
# client and pykube-ng as their users install them beside kopf.
KOPF_VENV_PACKAGES := 'kopf==1.45.2' 'kubernetes==37.0.2' 'pykube-ng==23.6.0' 'PyYAML>=6'
kopf-venv:
	@test -f $(KOPF_VENV)/.corpus-1 || { { test -x $(KOPF_VENV)/bin/python || $(PYTHON) -m venv $(KOPF_VENV); } \
	  && $(KOPF_VENV)/bin/pip install --quiet $(KOPF_VENV_PACKAGES) && touch $(KOPF_VENV)/.corpus-1; }

lint: venv
	$(BIN)/ruff check opframe tests examples bench tools

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest tests/unit

e2e: venv controlplane helm kopf-venv
	$(BIN)/pytest tests/e2e examples

# The documentation site (MkDocs + Material + mkdocstrings) into site/; --strict: a broken link, a missing
# page or an unresolved API reference fails. (The two variables silence a banner of the theme's.)
docs: venv
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet

test: venv controlplane node image helm kopf-venv lint typecheck layers docs
	$(BIN)/pytest

demo: venv controlplane
	$(BIN)/python examples/demo.py

# The same operator deployed by the Helm chart on a node that runs pods (needs root).
demo-node: venv controlplane node image helm
	$(BIN)/python examples/demo_node.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site

# Benchmarks (not part of `make test`): figures with ratios against a baseline in the same run.
.PHONY: bench-informer
bench-informer: venv controlplane
	$(BIN)/python bench/informer_sync.py --objects 10000 --repeat 3

.PHONY: bench-operator
bench-operator: venv controlplane
	$(BIN)/python bench/operator_runtime.py --rate 50 --seconds 20

# 100,000 objects of a custom resource: opframe's operator (sync, memory, idle CPU, latency, a standby
# replica, a relist after 410) against client-go (bench/goprobe, built with Go on first use) and kopf.
.PHONY: bench-scale
bench-scale: venv controlplane
	$(BIN)/python bench/scale.py

.PHONY: bench-failover
bench-failover: venv controlplane
	$(BIN)/python bench/leader_failover.py --kills 10

.PHONY: bench-admission
bench-admission: venv controlplane
	$(BIN)/python bench/admission.py

# A CRD conversion webhook served by the operator: GETs through the version not stored vs the stored one.
.PHONY: bench-conversion
bench-conversion: venv controlplane
	$(BIN)/python bench/conversion.py

# The per-call price of typed kwargs (pydantic models) against kopf's dict kwargs; in-process, no cluster.
.PHONY: bench-typed
bench-typed: venv
	$(BIN)/python bench/typed_kwargs.py

# opframe against kopf (installed in its own virtual environment), same control plane, one run.
.PHONY: bench
bench: venv controlplane kopf-venv
	$(BIN)/python bench/kopf_compare.py

# S2 of `make bench` alone (the writer alone, opframe with bursts off, opframe, kopf), with where each call came from.
.PHONY: bench-storm
bench-storm: venv controlplane kopf-venv
	$(BIN)/python bench/kopf_compare.py --only S2

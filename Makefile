# kedge: `make demo` and `make test` set up everything they need on a fresh Debian machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DENO := bin/deno
# The same permission and runtime flags bin/cloudcore and bin/edgecore run with.
CLOUDCORE_PERMISSIONS := $(shell . bin/permissions.sh && echo "$$CLOUDCORE_PERMISSIONS")
EDGECORE_PERMISSIONS := $(shell . bin/permissions.sh && echo "$$EDGECORE_PERMISSIONS")
EDGECORE_RUNTIME_FLAGS := $(shell . bin/permissions.sh && echo "$$EDGECORE_RUNTIME_FLAGS")
# Test files run in parallel, one per core; each starts its own control plane and components.
JOBS ?= $(shell nproc)
# Seconds one test file may take before make test kills it (and what it started) and reports it as hung.
TEST_TIMEOUT ?= 600
DENORT_BIN ?=
# npm comes with Debian's package when missing (bin/deno installs it); Go is handled by tests/cluster/ensure_go.sh.
# containerd, runc, CNI plugins, busybox-static, umoci and docker-registry: real pods and local images;
# mosquitto and its clients: the external MQTT broker and real clients in the tests; haproxy: the TCP load
# balancer in front of cloudcore replicas in the tests; apache2-utils: htpasswd for the test registry that
# wants a login (imagePullSecrets); gcc, make, libc6-dev, bzip2: upstream's busybox for the conformance images
# (tests/conformance/build_busybox.sh).
APT_PACKAGES := ca-certificates git systemd containerd runc containernetworking-plugins busybox-static umoci \
  docker-registry mosquitto mosquitto-clients haproxy apache2-utils gcc make libc6-dev bzip2
TARGETS := cloudcore edgecore

.PHONY: help denort deps control-plane kubeedge mapper conformance-suite test test-unit build install demo fmt lint check clean cluster-up cluster-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

deps: ## install Debian packages and the pinned Deno (into .tools/) when missing
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@$(DENO) --version | head -1
	@$(DENO) install --frozen --quiet

control-plane: ## build (once, cached outside the repo) kube-apiserver, controller-manager, scheduler, etcd
	@bash tests/cluster/build.sh >/dev/null

# Exit 3: no KubeEdge source snapshot on this machine; the interop tests then skip and say why.
kubeedge: ## build (once, cached outside the repo) KubeEdge v1.23.1 cloudcore/edgecore/keadm for the interop tests
	@bash tests/kubeedge/build.sh >/dev/null || [ $$? -eq 3 ]

# Exit 3: no KubeEdge source snapshot; the DMI mapper tests then skip and say why.
mapper: ## build (once, cached outside the repo) a DMI mapper from KubeEdge's mapper-framework for the DMI tests
	@bash tests/mapper/build.sh >/dev/null || [ $$? -eq 3 ]

# Exit 3: the Go module k8s.io/kubernetes cannot be had; the conformance subset then skips and says why.
conformance-suite: ## build (once, cached outside the repo) Kubernetes' e2e.test v1.34.4, ginkgo and its pods' images
	@dir="$$(bash tests/conformance/build.sh)" && bash tests/conformance/build_images.sh "$$dir" >/dev/null || [ $$? -eq 3 ]

test: deps control-plane kubeedge mapper conformance-suite lint check ## everything CI runs: lint, type check, unit and integration tests
	KEDGE_CONTROL_PLANE_DIR="$$(bash tests/cluster/build.sh)" \
	  $(DENO) run --frozen --allow-all tests/run_all.ts --jobs $(JOBS) --timeout $(TEST_TIMEOUT) --no-check \
	  lib cloud edge tests

test-unit: deps ## unit tests only (no control plane)
	$(DENO) test --frozen --allow-all --parallel lib cloud edge

DIST ?= dist
# Each binary is compiled from the bundle bin/cloudcore and bin/edgecore run (bin/bundle.sh: minified, its
# on-demand chunks embedded with --include).
build: denort deps ## dist/cloudcore and dist/edgecore by deno compile (DENORT_BIN=/path/to/denort offline)
	@mkdir -p $(DIST)
	main="$$(bin/bundle.sh cloud/main.ts)" && DENORT_BIN="$${DENORT_BIN:-$(DENORT_BIN)}" $(DENO) compile --frozen --quiet \
	  $(CLOUDCORE_PERMISSIONS) --include "$$(dirname "$$main")" --output $(DIST)/cloudcore "$$main"
	main="$$(bin/bundle.sh edge/main.ts)" && DENORT_BIN="$${DENORT_BIN:-$(DENORT_BIN)}" $(DENO) compile --frozen --quiet \
	  $(EDGECORE_PERMISSIONS) $(EDGECORE_RUNTIME_FLAGS) --include "$$(dirname "$$main")" --output $(DIST)/edgecore "$$main"

# Checked before anything is installed, so that the one line saying why is all a user sees.
denort:
	@if [ -z "$(DENORT_BIN)" ] && [ -z "$${DENORT_BIN:-}" ]; then \
	  echo "Cannot build: deno compile needs its runtime denort, which it downloads from Deno's site; set DENORT_BIN=/path/to/denort (bin/cloudcore and bin/edgecore run the same bundle under deno run)" >&2; exit 1; fi
	@[ -x "$${DENORT_BIN:-$(DENORT_BIN)}" ] || { echo "Cannot build: DENORT_BIN=$${DENORT_BIN:-$(DENORT_BIN)} is not an executable file" >&2; exit 1; }

PREFIX ?= /usr/local
DESTDIR ?=
install: ## copy dist/ binaries to $(PREFIX)/bin and the units to /etc/systemd/system (DESTDIR honoured)
	@for b in $(TARGETS); do [ -x dist/$$b ] || { echo "Cannot install: dist/$$b is missing; run make build first" >&2; exit 1; }; done
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/systemd/system
	install -m 0755 dist/cloudcore dist/edgecore $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 systemd/cloudcore.service systemd/edgecore.service $(DESTDIR)/etc/systemd/system/
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

demo: deps control-plane ## control plane, containerd, cloudcore, a joined edgecore, a pod and a device; then stop
	KEDGE_CONTROL_PLANE_DIR="$$(bash tests/cluster/build.sh)" $(DENO) run --frozen --allow-all tests/demo/demo.ts

MINUTES ?= 30
SOAK_ARGS ?=
.PHONY: soak
soak: deps control-plane ## not in `make test`: control plane, real edgecore, 50 simulated edges, churn and restarts for MINUTES (30) min; consistency, memory slopes (docs/soak.md)
	KEDGE_CONTROL_PLANE_DIR="$$(bash tests/cluster/build.sh)" $(DENO) run --frozen --allow-all bench/soak.ts --minutes $(MINUTES) $(SOAK_ARGS)

CONFORMANCE_MINUTES ?= 60
# the second run, the rest of [Conformance] (0: none)
CONFORMANCE_REST_MINUTES ?= 90
CONFORMANCE_PROCS ?= 4
CONFORMANCE_ARGS ?=
.PHONY: conformance
conformance: deps control-plane conformance-suite ## not in `make test` (14 of its specs are): Kubernetes' e2e [NodeConformance], then the rest of [Conformance], against one edge node; docs/conformance.md
	KEDGE_CONTROL_PLANE_DIR="$$(bash tests/cluster/build.sh)" KEDGE_CONFORMANCE_DIR="$$(bash tests/conformance/build.sh)" \
	  $(DENO) run --frozen --allow-all tests/conformance/run.ts --minutes $(CONFORMANCE_MINUTES) \
	  --rest-minutes $(CONFORMANCE_REST_MINUTES) --procs $(CONFORMANCE_PROCS) $(CONFORMANCE_ARGS)

cluster-up: deps control-plane ## start the test control plane for a person; kubeconfig in .kedge/kubeconfig
	@mkdir -p .kedge
	@if [ -f .kedge/cluster.pid ] && kill -0 "$$(cat .kedge/cluster.pid)" 2>/dev/null; then echo "already up: export KUBECONFIG=$$PWD/.kedge/kubeconfig"; exit 0; fi
	@rm -f .kedge/kubeconfig
	@KEDGE_CONTROL_PLANE_DIR="$$(bash tests/cluster/build.sh)" nohup $(DENO) run --frozen --allow-all tests/cluster/up.ts .kedge >.kedge/cluster.log 2>&1 & echo $$! >.kedge/cluster.pid
	@for i in $$(seq 1 240); do [ -f .kedge/kubeconfig ] && break; kill -0 "$$(cat .kedge/cluster.pid)" 2>/dev/null || { cat .kedge/cluster.log; exit 1; }; sleep 0.5; done
	@[ -f .kedge/kubeconfig ] || { echo "Cannot start the control plane: see .kedge/cluster.log" >&2; exit 1; }
	@echo "control plane up: export KUBECONFIG=$$PWD/.kedge/kubeconfig   (make cluster-down stops it)"

cluster-down: ## stop the control plane started by cluster-up
	@if [ -f .kedge/cluster.pid ]; then kill "$$(cat .kedge/cluster.pid)" 2>/dev/null || true; \
	  for i in $$(seq 1 60); do kill -0 "$$(cat .kedge/cluster.pid)" 2>/dev/null || break; sleep 0.5; done; fi
	@rm -f .kedge/cluster.pid .kedge/kubeconfig
	@echo "control plane down"

fmt: deps ## format the sources
	$(DENO) fmt

lint: deps ## deno lint and deno fmt --check
	$(DENO) lint
	$(DENO) fmt --check

check: deps ## type-check every entrypoint, test and benchmark
	$(DENO) check --frozen cloud edge lib tests bench

clean: ## remove build output and local state (not the cached control plane)
	rm -rf dist .kedge

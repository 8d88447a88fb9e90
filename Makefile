# Build, test and run the stack. `make help` lists the targets.
# Docker: the 20.10 client at /usr/bin/docker supports BuildKit here; override DOCKER if needed.
SHELL := /bin/bash
DOCKER ?= $(shell [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
export DOCKER_BUILDKIT := 1
CARGO ?= cargo

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}'

build: ## Debug build of every binary
	$(CARGO) build --workspace --locked

lint: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-rust: ## Unit + integration tests (starts a throwaway PostgreSQL unless DATABASE_URL is set)
	$(CARGO) test --workspace --locked

test: lint test-rust ## Everything CI runs: lint, Rust tests, k8s validation, image build + end-to-end

# --- Kubernetes manifests: offline validation (k8s/, issue 6) ----------------------------------
# Renders every kustomization, validates it against the pinned Kubernetes schema, lints it, runs
# the project's policy tests, and checkov (kubernetes + Dockerfiles) with the documented skips.
K8S_VERSION ?= 1.33
K8S_VENV ?= .venv
K8S_BUILD ?= .build/k8s
K8S_TARGETS := overlays/development overlays/production overlays/production-cutover descheduler
K8S_PY := $(K8S_VENV)/bin
# Skips for one scope from k8s/checkov-skips.txt, as a comma-separated list.
k8s_skips = $(shell awk '$$1 == "$(1)" { printf "%s%s", sep, $$2; sep = "," }' k8s/checkov-skips.txt)

$(K8S_VENV)/.k8s-tools: k8s/requirements.txt k8s/constraints.txt
	test -x $(K8S_PY)/python || python3 -m venv $(K8S_VENV)
	$(K8S_PY)/pip install --quiet --disable-pip-version-check -r k8s/requirements.txt -c k8s/constraints.txt
	touch $@

k8s-tools: $(K8S_VENV)/.k8s-tools ## Install the k8s validation tools into .venv (pinned)

k8s-render: ## Render every kustomization into .build/k8s/*.yaml with kubectl kustomize
	@mkdir -p $(K8S_BUILD)
	@for t in $(K8S_TARGETS); do \
	  echo "kubectl kustomize k8s/$$t > $(K8S_BUILD)/$${t##*/}.yaml"; \
	  kubectl kustomize k8s/$$t > $(K8S_BUILD)/$${t##*/}.yaml || exit 1; \
	done

k8s-validate: $(K8S_VENV)/.k8s-tools k8s-render ## Validate k8s/: schema (strict), yamllint, policy tests, checkov
	$(K8S_PY)/kubernetes-validate --kubernetes-version $(K8S_VERSION) --strict --quiet $(K8S_BUILD)/*.yaml
	$(K8S_PY)/yamllint --strict -c k8s/yamllint.yaml k8s $(K8S_BUILD)
	K8S_RENDERED=$(abspath $(K8S_BUILD)) $(K8S_PY)/pytest -q -p no:cacheprovider k8s/tests
	$(K8S_PY)/checkov --quiet --compact --skip-download --framework kubernetes \
	  -d $(K8S_BUILD) --skip-check $(call k8s_skips,k8s)
	@if [ -f docker/Dockerfile ]; then set -x; $(K8S_PY)/checkov --quiet --compact --skip-download \
	  --framework dockerfile -f docker/Dockerfile --skip-check $(call k8s_skips,dockerfile); \
	  else echo "docker/Dockerfile not present: Dockerfile scan skipped"; fi
	@if [ -f docker/Dockerfile.development ]; then set -x; $(K8S_PY)/checkov --quiet --compact --skip-download \
	  --framework dockerfile -f docker/Dockerfile.development --skip-check $(call k8s_skips,dockerfile-dev); \
	  fi

.PHONY: k8s-tools k8s-render k8s-validate

# --- Benchmarks (bench/, issue 7) ---------------------------------------------------------------
# Loopback only, bounded, cleans up after itself. Tune with BENCH_ROUNDS (5), BENCH_DURATION (10s),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2). Needs wrk and nginx (apt-get install wrk nginx-light),
# optionally node-express for the Node peer. Results: bench/results/latest.md and BENCHMARKS.md.
bench: ## Benchmarks against nginx (and Node/express): req/s, p99, RSS, startup, sizes, db-migrate
	CARGO=$(CARGO) bench/run.sh

.PHONY: bench

# --- Backend: sqlx offline query data (.sqlx/, issue 3) -----------------------------------------
# Builds read the committed .sqlx/ (SQLX_OFFLINE=true in .cargo/config.toml), so neither CI nor the
# image build needs a database. Both targets start a throwaway PostgreSQL from
# /usr/lib/postgresql/*/bin (unix socket only, as the postgres user when run as root), apply the
# migrations with psql, and compile the backend against it; no sqlx-cli needed.
sqlx-prepare: ## Regenerate .sqlx/ after changing a query or a migration (commit the result)
	CARGO=$(CARGO) crates/backend/scripts/sqlx-prepare.sh .sqlx

sqlx-check: ## Fail when .sqlx/ is stale (regenerates into a temp dir and diffs)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  CARGO=$(CARGO) crates/backend/scripts/sqlx-prepare.sh "$$tmp/sqlx" && \
	  if diff -r .sqlx "$$tmp/sqlx"; then echo ".sqlx/ is up to date"; else \
	    echo "error: .sqlx/ is stale: run 'make sqlx-prepare' and commit .sqlx/" >&2; exit 1; fi

.PHONY: sqlx-prepare sqlx-check
